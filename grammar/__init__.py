"""The Lark grammar for EQL, shipped as package data (``eql.lark``)."""

import pkgutil


def grammar_text() -> str:
    """The text of ``eql.lark``, read through the package's loader (``pkgutil.get_data``: no
    ``importlib.resources``/``zipfile`` import at every start of the command line)."""
    data = pkgutil.get_data(__name__, "eql.lark")
    if data is None:  # pragma: no cover - a loader without get_data
        from importlib.resources import files

        return files(__name__).joinpath("eql.lark").read_text(encoding="utf-8")
    return data.decode("utf-8")
