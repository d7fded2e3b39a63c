"""``reliability serve``: run the HTTP API over a directory of score tables."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from api.settings import CONFIG_ENV, ENV_PREFIX, SettingsError, load_settings
from reliability import exitcodes

EPILOG = """\
Examples:
  reliability serve --tables tables
  reliability serve --tables /srv/tables --host 0.0.0.0 --port 8080 --workers 2
  reliability serve --config settings.toml

Settings (API keys, limits, CORS, reload interval) come from the TOML file given with --config
and from RELIABILITY_* environment variables; see docs/api.md. The server reloads
DIR/latest.json when the batch job publishes a new table.
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="serve the scoring API over HTTP",
        description="Serve the scoring API (litestar under uvicorn) over a table directory.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--tables",
        type=Path,
        metavar="DIR",
        help="table directory written by `reliability recalibrate` (or RELIABILITY_TABLES)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes (default 1)"
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="settings file (TOML)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # the server is imported only when serving, so every other command starts fast
    import uvicorn  # noqa: PLC0415

    if args.workers < 1:
        print("reliability serve: --workers must be at least 1", file=sys.stderr)
        return exitcodes.USAGE
    try:
        settings = load_settings(args.config, tables=str(args.tables) if args.tables else None)
    except SettingsError as error:
        print(f"reliability serve: {error}", file=sys.stderr)
        return exitcodes.INPUT_ERROR
    if not Path(settings.tables).is_dir():
        print(
            f"reliability serve: warning: table directory {settings.tables} does not exist yet; "
            "/ready answers 503 until a table is published there",
            file=sys.stderr,
        )
    # workers are separate processes: they rebuild the same settings from the environment
    os.environ[f"{ENV_PREFIX}TABLES"] = settings.tables
    if args.config is not None:
        os.environ[CONFIG_ENV] = str(args.config)
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=None,
    )
    return exitcodes.OK
