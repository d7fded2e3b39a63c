"""The JSON Schema of the score table, generated from :class:`reliability.table.ScoreTable`.

The committed copy is ``schemas/score-table.schema.json``; regenerate it after changing
``reliability/table.py`` with ``python -m reliability.tableschema``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import msgspec

from reliability.table import SCHEMA_VERSION, ScoreTable

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "score-table.schema.json"


def score_table_schema() -> dict[str, object]:
    """The JSON Schema (draft 2020-12) every published table validates against.

    >>> score_table_schema()["$ref"]
    '#/$defs/ScoreTable'
    """
    schema: dict[str, object] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://reliability.invalid/schemas/score-table.schema.json",
        "title": f"reliability score table (schema_version {SCHEMA_VERSION})",
    }
    schema.update(msgspec.json.schema(ScoreTable, schema_hook=_any_json))
    return schema


def _any_json(kind: type) -> dict[str, object]:
    # ``config`` maps option names to arbitrary JSON values; a schema with no type accepts any.
    if kind is object:
        return {"description": "any JSON value"}
    raise NotImplementedError(kind)


def render_schema() -> str:
    """The schema as the committed file's text."""
    return json.dumps(score_table_schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    """Write the schema to the path given as the only argument (default: the repo's copy)."""
    if len(sys.argv) > 2 or sys.argv[1:] in (["-h"], ["--help"]):
        print(f"usage: python -m reliability.tableschema [PATH]  (default {SCHEMA_PATH})")
        return 0 if len(sys.argv) == 2 else 2
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    target.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
