"""The ``cimcity`` command line.

Each sub-command lives in ``cimcity/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
Errors from cimcity end the program with exit code 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import CimcityError

COMMANDS = ("demo", "info", "check", "solar", "shadow", "flood", "render")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cimcity",
        description="cimcity: City Information Model tools (scene, solar, shadows, "
        "flood, vegetation, permit checks).",
    )
    parser.add_argument("--version", action="version", version=f"cimcity {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"cimcity.commands.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except CimcityError as exc:
        print(f"cimcity {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"cimcity {args.command}: error: file not found: {exc.filename}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
