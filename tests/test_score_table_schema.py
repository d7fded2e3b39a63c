"""The committed JSON Schema of the score table matches the Structs and accepts real tables."""

from __future__ import annotations

import json

import jsonschema
import pytest

from reliability.tableschema import SCHEMA_PATH, render_schema, score_table_schema
from reliability.tablestore import encode_table
from tests.table_factory import make_table


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "schemas/score-table.schema.json is stale: run python -m reliability.tableschema"
    )


def test_schema_accepts_a_table_and_rejects_a_broken_one() -> None:
    validator = jsonschema.Draft202012Validator(score_table_schema())
    document = json.loads(encode_table(make_table()))
    validator.validate(document)
    document["outlets"][0]["bias"] = {"estimate": 0.1}
    with pytest.raises(jsonschema.ValidationError, match="'lo90' is a required property"):
        validator.validate(document)
