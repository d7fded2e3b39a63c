"""``reliability tables list|rollback|prune``: manage a table directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from reliability import exitcodes
from reliability.commands._common import fail
from reliability.tablestore import StoreBusyError, StoreWriteError, TableError, TableStore

EXAMPLE = """\
examples:
  reliability tables list tables
  reliability tables rollback tables 20261101T020000Z-1a2b3c4d
  reliability tables prune tables --keep 10
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tables",
        help="list, roll back or prune versions in a table directory",
        description="Manage the versions of a table directory written by recalibrate.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lister = actions.add_parser(
        "list",
        help="list versions, oldest first; * marks latest",
        epilog="example:\n  reliability tables list tables",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lister.add_argument("directory", type=Path, metavar="DIR")
    lister.set_defaults(handler=run_list)
    rollback = actions.add_parser(
        "rollback",
        help="make an earlier version latest again",
        epilog="example:\n  reliability tables rollback tables 20261101T020000Z-1a2b3c4d",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rollback.add_argument("directory", type=Path, metavar="DIR")
    rollback.add_argument("version", metavar="VERSION")
    rollback.set_defaults(handler=run_rollback)
    prune = actions.add_parser(
        "prune",
        help="delete the oldest versions beyond --keep",
        epilog="example:\n  reliability tables prune tables --keep 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prune.add_argument("directory", type=Path, metavar="DIR")
    prune.add_argument("--keep", type=int, required=True, metavar="N", help="versions to keep")
    prune.set_defaults(handler=run_prune)
    for sub in (rollback, prune):
        sub.add_argument(
            "--lock-timeout",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="wait this long for a running job's lock (default 0: refuse at once)",
        )


def run_list(args: argparse.Namespace) -> int:
    store = TableStore(args.directory)
    if not args.directory.is_dir():
        fail("tables", f"{args.directory}: no such table directory")
        return exitcodes.INPUT_ERROR
    versions = store.versions()
    if not versions:
        print(f"{args.directory}: no versions")
    for info in versions:
        marker = "*" if info.is_latest else " "
        print(f"{marker} {info.version}  {info.created_at.isoformat()}  {info.size_bytes:>10,} B")
    return exitcodes.OK


def _mutate(args: argparse.Namespace, action: str) -> int:
    store = TableStore(args.directory)
    if not args.directory.is_dir():
        fail("tables", f"{args.directory}: no such table directory")
        return exitcodes.INPUT_ERROR
    try:
        with store.lock(args.lock_timeout):
            if action == "rollback":
                store.rollback(args.version)
                print(f"latest is now {args.version}")
            else:
                deleted = store.prune(args.keep)
                print(f"deleted {len(deleted)} version(s)" + "".join(f"\n  {v}" for v in deleted))
    except StoreBusyError as exc:
        fail("tables", str(exc))
        return exitcodes.BUSY
    except StoreWriteError as exc:
        fail("tables", str(exc))
        return exitcodes.OUTPUT_FAILURE
    except TableError as exc:
        fail("tables", str(exc))
        return exitcodes.INPUT_ERROR
    except ValueError as exc:
        fail("tables", str(exc))
        return exitcodes.USAGE
    return exitcodes.OK


def run_rollback(args: argparse.Namespace) -> int:
    return _mutate(args, "rollback")


def run_prune(args: argparse.Namespace) -> int:
    return _mutate(args, "prune")
