"""Write the app's OpenAPI document to ``schemas/openapi.json``.

Run ``python -m api.openapi_export`` after changing an endpoint; a test fails while the
committed file differs from what the app serves.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msgspec

from api.app import create_app
from api.settings import Settings

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "schemas" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at ``/schema/openapi.json`` (independent of settings)."""
    app = create_app(Settings(tables="tables"))
    return app.openapi_schema.to_schema()


def render(document: dict[str, Any]) -> bytes:
    return msgspec.json.format(msgspec.json.encode(document, order="sorted"), indent=2) + b"\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    path.write_bytes(render(openapi_document()))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
