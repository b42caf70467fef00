"""The ``cimcity`` command line.

Each sub-command lives in ``cimcity/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.

Exit codes (:mod:`cimcity.commands._common`): 0 done, 1 a checked rule fails
(``check``) or a demo step failed, 2 bad input (unknown choice, missing or
unreadable file, refused data: one line on stderr, never a traceback), 3
nothing to compute for the question asked (one line says why), 70 an internal
error (the traceback and a request to report it).

Warnings from cimcity (:class:`~cimcity.errors.CimcityWarning`) are printed as
one ``note:`` line each, without the Python source line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings

from . import __version__
from .commands._common import EXIT_BUG, EXIT_INPUT
from .errors import CimcityError, CimcityWarning

COMMANDS = ("demo", "info", "check", "solar", "shadow", "flood", "render", "export", "heat", "run")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cimcity",
        description="cimcity: City Information Model tools (scene, solar, shadows, "
        "flood, vegetation, permit checks).",
        epilog="Exit codes: 0 done, 1 a checked rule fails (check) or a demo step "
        "failed, 2 bad input, 3 nothing to compute for the question asked, 70 "
        "internal error. Details: cimcity COMMAND --help.",
    )
    parser.add_argument("--version", action="version", version=f"cimcity {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"cimcity.commands.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    """Run ``cimcity`` with ``argv`` (default ``sys.argv[1:]``); returns the exit
    code. argparse refusals (unknown option or choice) exit 2 through
    ``SystemExit``, as argparse does."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    name = f"cimcity {args.command}"
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning(name, warnings.showwarning)
        try:
            return int(args.func(args) or 0)
        except CimcityError as exc:
            _error(name, exc)
            return EXIT_INPUT
        except FileNotFoundError as exc:
            _error(name, f"file not found: {exc.filename or exc}")
            return EXIT_INPUT
        except OSError as exc:  # a folder where a file was expected, permissions...
            where = f": {exc.filename}" if exc.filename else ""
            _error(name, f"{exc.strerror or exc}{where}")
            return EXIT_INPUT
        except KeyboardInterrupt:
            _error(name, "interrupted")
            return 130
        except Exception:  # a bug: show it, do not dress it as bad input
            traceback.print_exc()
            print(
                f"{name}: internal error in cimcity {__version__}. This is a bug, not "
                "your input: please report it to the cimcity maintainers with the "
                "command line and the traceback above.",
                file=sys.stderr,
            )
            return EXIT_BUG


def _error(name: str, what) -> None:
    text = " ".join(str(what).split()) or type(what).__name__
    print(f"{name}: error: {text}", file=sys.stderr)


def _one_line_warning(name, default):
    """``warnings.showwarning`` printing cimcity warnings as one ``note:`` line
    (others as Python prints them)."""
    seen = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, CimcityWarning):
            return default(message, category, filename, lineno, file, line)
        text = " ".join(str(message).split())
        if text in seen:
            return None
        seen.add(text)
        print(f"{name}: note: {text}", file=sys.stderr if file is None else file)
        return None

    return show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
