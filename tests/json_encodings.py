"""The same event written as NDJSON in the ways real producers (and odd ones) write it.

Every encoding decodes to an event the matcher reads the same way (Elasticsearch reads dotted keys
as objects, eqlc.events too), so a rule must select the same lines in every encoding: the literal
prefilter (compiler/matcher/needles.py, scan.py) is only allowed to skip lines that cannot match.
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable

import orjson

_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def compact(e: dict) -> bytes:
    """orjson: compact, raw UTF-8, ``/`` unescaped (the canonical form needles are written in)."""
    return orjson.dumps(e)


def ensure_ascii(e: dict) -> bytes:
    """Python's json.dumps default: every non-ASCII character as ``\\uXXXX``, spaced separators."""
    return json.dumps(e).encode()


def escaped_slashes(e: dict) -> bytes:
    """PHP's json_encode default: every ``/`` as ``\\/``."""
    return orjson.dumps(e).replace(b"/", b"\\/")


def spaced(e: dict) -> bytes:
    """Whitespace around every separator, raw UTF-8."""
    return json.dumps(e, ensure_ascii=False, separators=(" , ", " : ")).encode()


def dotted(e: dict) -> bytes:
    """Nested objects flattened into dotted keys (``{"process.name": ...}``)."""
    return orjson.dumps(flatten(e))


def flatten(e: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in e.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def random_escapes(e: dict, rng: random.Random, p: float = 0.3, non_ascii_only: bool = False) -> bytes:
    """Keys and values with a random share ``p`` of characters (``non_ascii_only``: of non-ASCII
    characters) written as ``\\uXXXX`` (either hex case, surrogate pairs above U+FFFF), ``/``
    sometimes as ``\\/``, random whitespace."""

    def s(text: str) -> str:
        out = ['"']
        for ch in text:
            short = _SHORT.get(ch)
            if short is not None or ch < " ":
                if short is not None and rng.random() < 0.5:
                    out.append(short)
                else:
                    out.append(_u(ch))
            elif (not non_ascii_only or ch > "\x7f") and rng.random() < p:
                out.append(_u(ch))
            elif ch == "/" and rng.random() < 0.5:
                out.append("\\/")
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)

    def _u(ch: str) -> str:
        code = ord(ch)
        fmt = "\\u%04x" if rng.random() < 0.5 else "\\u%04X"
        if code > 0xFFFF:
            code -= 0x10000
            return fmt % (0xD800 + (code >> 10)) + fmt % (0xDC00 + (code & 0x3FF))
        return fmt % code

    def ws() -> str:
        return rng.choice(["", "", " ", "\t", "  "])

    def enc(v: Any) -> str:
        if isinstance(v, str):
            return s(v)
        if isinstance(v, dict):
            return "{" + ws() + ",".join(f"{ws()}{s(str(k))}{ws()}:{ws()}{enc(x)}" for k, x in v.items()) + ws() + "}"
        if isinstance(v, list):
            return "[" + ",".join(ws() + enc(x) + ws() for x in v) + "]"
        return json.dumps(v)

    return enc(e).encode("utf-8", "surrogatepass")


def encodings(seed: int = 0) -> dict[str, Callable[[dict], bytes]]:
    rng = random.Random(seed)
    return {
        "compact": compact,
        "ensure_ascii": ensure_ascii,
        "escaped_slashes": escaped_slashes,
        "spaced": spaced,
        "dotted": dotted,
        "random_escapes": lambda e: random_escapes(e, rng),
    }
