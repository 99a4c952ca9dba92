"""The ``eqlc`` command line (typer). Each sub-command lives in ``compiler/commands/<name>.py``
and registers itself on :data:`app`; this file only assembles them and guarantees that every
mistake ends with a one-line error and its exit code, never a traceback:

- a usage mistake (an unknown option, a missing value) is ``error: ...`` and exit 2, like the
  commands' own usage errors (see :mod:`eqlc.commands.common` for every exit code);
- input that ends too early is ``error: ...`` and exit 2: bad input, not a bug;
- a file that cannot be read or written (an ``OSError``: a directory, no permission, a full disk,
  standard output failing) is ``PATH: error: ...`` and exit 74 (EX_IOERR);
- an unexpected exception anywhere in eqlc is ``eqlc: internal error: Type: message`` and exit 3
  (``EQLC_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Optional

import typer

from .commands.exits import EXIT_INTERNAL, run_guarded  # noqa: F401 - EXIT_INTERNAL: this module's API too

try:  # typer >= 0.2x carries its own copy of click; older versions use click itself
    from typer._click import Context  # type: ignore[attr-defined]
    from typer._click import exceptions as click_errors  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import Context  # type: ignore[assignment]
    from click import exceptions as click_errors  # type: ignore[no-redef]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="eqlc: compile Elastic EQL detection rules to Sigma, KQL, SPL, osquery SQL and Python, and prove they agree.",
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("check", "parse", "compile", "match", "fixtures", "verify", "report")
EXIT_BAD_INPUT = 2


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"eqlc {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    """eqlc: compile Elastic EQL detection rules to Sigma, KQL, SPL, osquery SQL and Python, and prove they agree."""


def _plain_help() -> None:
    """Help names values by their metavar (PATH, TARGET, FILE), as command-line tools do.

    typer (0.2x) prints each parameter's Python type beside it (``<bool>``, ``<path>``,
    ``<list[str]>``) and wraps required arguments in braces (``{path}``): implementation
    details, not something a user types. Every option here gives its metavar; flags get none."""
    from typer.core import TyperArgument, TyperOption

    def option_type(self: TyperOption, ctx: Context) -> Optional[str]:
        if self.is_flag or self.count:
            return ""
        return self.metavar or (self.name or "value").upper()

    def argument_usage(self: TyperArgument) -> str:
        name = self.metavar or (self.name or "arg").upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign,assignment]
    if hasattr(TyperArgument, "_usage_display_name"):
        TyperArgument._usage_display_name = argument_usage  # type: ignore[method-assign]


def _lazy_coercion() -> None:
    """Coerce a parameter through pydantic only when a value needs it.

    typer (0.29) builds a pydantic ``TypeAdapter`` for every parameter the command line touches,
    given or not, and importing pydantic plus building those adapters is most of ``eqlc match``'s
    start-up (benchmarks/bench_ndjson.py --only startup). Here a parameter's adapter is built on
    its first value that is not None (typer returns None/() for an absent value without calling
    the adapter), and a plain ``str`` or ``list[str]`` parameter given strings returns them as they
    are: exactly what typer's ``str`` adapter (``_parse_cli_str``: ``str(value)``) gives for a
    ``str``. Anything else (numbers, paths, choices, bad values and their error messages) goes
    through typer's own adapter unchanged. Does nothing on a typer without these internals."""
    try:
        from dataclasses import dataclass
        from typing import Any, get_args, get_origin

        from typer import _coercion, core
    except ImportError:  # pragma: no cover - depends on the installed typer
        return
    build = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if build is None or base is None or getattr(build, "_eqlc_lazy", False):
        return

    @dataclass(frozen=True)
    class LazyRuntimeParam(base):  # type: ignore[misc,valid-type]
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation = self.descriptor.annotation
            if self.parameter_info.parser is None:
                if annotation is str and type(value) is str:
                    return value
                if (get_origin(annotation) is list and get_args(annotation) == (str,)
                        and isinstance(value, (list, tuple)) and all(type(v) is str for v in value)):
                    return list(value)
            real = build(self.descriptor)
            param._runtime_param = real  # the next value goes straight to typer's own coercion
            return real._coerce_value(value, param=param, ctx=ctx)

    def lazy_build(descriptor: Any) -> Any:
        if descriptor.file_annotation is not None:
            return build(descriptor)
        return LazyRuntimeParam(annotation=descriptor.annotation, parameter_info=descriptor.parameter_info,
                                descriptor=descriptor)

    lazy_build._eqlc_lazy = True  # type: ignore[attr-defined]
    core.build_runtime_param = lazy_build


_REGISTERED: list[str] = []


def _register(argv: Optional[list] = None) -> None:
    """Register the sub-commands: only the one the command line names, when it names one
    (importing every command module costs about 0.1 s of start-up, which `eqlc match` on a
    small file would feel); all of them otherwise (help, errors)."""
    if not _REGISTERED:
        _plain_help()
        _lazy_coercion()
    args = sys.argv[1:] if argv is None else argv
    wanted = next((a for a in args if not a.startswith("-")), None)
    for name in (wanted,) if wanted in COMMAND_MODULES else COMMAND_MODULES:
        if name in _REGISTERED:  # main() may run several times in one process (tests, embedding)
            continue
        module = f"eqlc.commands.{name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).register(app)
            _REGISTERED.append(name)


def _usage_line(e: click_errors.UsageError) -> str:
    command = e.ctx.command_path if e.ctx is not None else "eqlc"
    return f"error: {e.format_message()} (see {command} --help)"


def main(argv: Optional[list[str]] = None) -> None:
    _register(argv)
    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)

    def invoke() -> object:
        try:
            return command.main(args=args, prog_name="eqlc", standalone_mode=False)
        except click_errors.UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `eqlc` alone: the help was printed
                return 0
            sys.stderr.write(_usage_line(e) + "\n")
            return EXIT_BAD_INPUT
        except click_errors.ClickException as e:
            sys.stderr.write(f"error: {e.format_message()}\n")
            return e.exit_code
        except typer.Abort as e:
            cause = e.__cause__ or e.__context__
            if isinstance(cause, EOFError):  # click turns an EOFError into Abort: input that ends too early
                sys.stderr.write(f"error: the input ends too early ({cause})\n")
                return EXIT_BAD_INPUT
            raise KeyboardInterrupt from None

    sys.exit(run_guarded(invoke))
