"""The Lark grammar for EQL, shipped as package data (``eql.lark``)."""

from importlib.resources import files


def grammar_text() -> str:
    """The text of ``eql.lark``."""
    return files(__name__).joinpath("eql.lark").read_text(encoding="utf-8")
