"""The EQL function catalogue: names, arity, argument types, case-insensitive (`~`) forms.

Elasticsearch resolves function names case-insensitively (`EqlFunctionRegistry.normalize`
lower-cases them), and the corpus writes both `cidrmatch` and `cidrMatch`, so lookups here are
case-insensitive and the IR always carries the canonical spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


# Value types used by the checker. UNKNOWN is a field: without an index mapping, any type.
STRING, NUMBER, BOOLEAN, NULL, UNKNOWN, ANY = "string", "number", "boolean", "null", "unknown", "any"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: Optional[int]  # None: variadic
    arg_types: tuple[str, ...]  # per position; the last one repeats for variadic functions
    returns: str
    case_aware: bool = False  # has a `~` form
    dialects: tuple[str, ...] = ("elasticsearch", "endgame")

    def arg_type(self, index: int) -> str:
        return self.arg_types[min(index, len(self.arg_types) - 1)]


_SPECS = [
    FunctionSpec("add", 2, 2, (NUMBER, NUMBER), NUMBER),
    FunctionSpec("between", 3, 4, (STRING, STRING, STRING, BOOLEAN), STRING, case_aware=True),
    FunctionSpec("cidrMatch", 2, None, (STRING, STRING), BOOLEAN),
    FunctionSpec("concat", 1, None, (ANY,), STRING),
    FunctionSpec("divide", 2, 2, (NUMBER, NUMBER), NUMBER),
    FunctionSpec("endsWith", 2, 2, (STRING, STRING), BOOLEAN, case_aware=True),
    FunctionSpec("indexOf", 2, 3, (STRING, STRING, NUMBER), NUMBER, case_aware=True),
    FunctionSpec("length", 1, 1, (STRING,), NUMBER),
    FunctionSpec("modulo", 2, 2, (NUMBER, NUMBER), NUMBER),
    FunctionSpec("multiply", 2, 2, (NUMBER, NUMBER), NUMBER),
    FunctionSpec("number", 1, 2, (STRING, NUMBER), NUMBER),
    FunctionSpec("startsWith", 2, 2, (STRING, STRING), BOOLEAN, case_aware=True),
    FunctionSpec("string", 1, 1, (ANY,), STRING),
    FunctionSpec("stringContains", 2, 2, (STRING, STRING), BOOLEAN, case_aware=True),
    FunctionSpec("substring", 2, 3, (STRING, NUMBER, NUMBER), STRING),
    FunctionSpec("subtract", 2, 2, (NUMBER, NUMBER), NUMBER),
    # The eql package's (Endgame) functions, not in Elasticsearch.
    FunctionSpec("arrayContains", 2, None, (ANY, ANY), BOOLEAN, dialects=("endgame",)),
    FunctionSpec("match", 2, None, (STRING, STRING), BOOLEAN, dialects=("endgame",)),
    FunctionSpec("matchLite", 2, None, (STRING, STRING), BOOLEAN, dialects=("endgame",)),
    FunctionSpec("wildcard", 2, None, (STRING, STRING), BOOLEAN, dialects=("endgame",)),
    FunctionSpec("safe", 1, 1, (ANY,), ANY, dialects=("endgame",)),
]

FUNCTIONS: dict[str, FunctionSpec] = {spec.name.lower(): spec for spec in _SPECS}

# Endgame functions that bind a loop variable (`arraySearch(a, x, x.b == 1)`): not supported.
UNSUPPORTED_FUNCTIONS = {
    "arraysearch": "arraySearch binds a loop variable; Elasticsearch removed it and eqlc does not support it",
    "arraycount": "arrayCount binds a loop variable; Elasticsearch removed it and eqlc does not support it",
}


def lookup(name: str) -> Optional[FunctionSpec]:
    return FUNCTIONS.get(name.lower())
