"""The ``reliability`` command. Each subcommand lives in ``reliability.commands.<name>``.

A command module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` (a callable taking the parsed namespace and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from reliability import __version__

COMMANDS: tuple[str, ...] = (
    "diff",
    "fuse",
    "load",
    "recalibrate",
    "report",
    "score",
    "serve",
    "synth",
    "tables",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reliability",
        description="Score the reliability of sources that report casualty figures.",
        epilog="Example: reliability recalibrate --config seeds/acw/dataset.toml --out tables",
    )
    parser.add_argument("--version", action="version", version=f"reliability {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"reliability.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
