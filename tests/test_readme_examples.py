"""The README's curl examples: what they show is what the demo API answers.

The demo (``make demo``) recalibrates on the ACW seed and serves the table with
``seeds/api-demo.toml``; this test does the same in process and sends each example's body.
When the model changes on purpose, ``.venv/bin/python tests/test_readme_examples.py`` writes
the new answers into the README.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.settings import load_settings
from reliability.cli import main

ROOT = Path(__file__).resolve().parents[1]
#: A curl command in an ``sh`` block followed at once by its output in a ``json`` block.
EXAMPLE = re.compile(r"```sh\n(curl .*?)\n```\n\n```json\n(.*?)\n```", re.S)
URL = re.compile(r"http://127\.0\.0\.1:8000(/\S+)")
BODY = re.compile(r"-d '(.*)'", re.S)


def _request(command: str) -> tuple[str, Any]:
    """The path and JSON body of a README curl command."""
    path, body = URL.search(command), BODY.search(command)
    if path is None or body is None:
        raise ValueError(f"README example without a URL or a -d body: {command}")
    return path.group(1), json.loads(body.group(1))


def examples() -> list[tuple[str, Any, Any]]:
    """Each README example as (path, request body, shown response)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(*_request(command), json.loads(output)) for command, output in EXAMPLE.findall(text)]


def test_the_readme_has_a_score_and_a_fuse_example() -> None:
    assert [path for path, _, _ in examples()] == ["/v1/score", "/v1/fuse"]


def demo_client(tables: Path) -> TestClient:  # type: ignore[type-arg]
    """The demo's API on a fresh recalibration into ``tables``."""
    config = ROOT / "seeds" / "acw" / "dataset.toml"
    assert main(["recalibrate", "--config", str(config), "--out", str(tables)]) == 0
    settings = load_settings(ROOT / "seeds" / "api-demo.toml", environ={}, tables=str(tables))
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with demo_client(tmp_path_factory.mktemp("tables")) as client:
        yield client


def _same(got: Any, shown: Any, where: str) -> None:
    """``got`` equals ``shown`` up to float rounding (another CPU's last bits)."""
    if isinstance(shown, dict):
        assert isinstance(got, dict), where
        assert got.keys() == shown.keys(), where
        for key in shown:
            _same(got[key], shown[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(got, list), where
        assert len(got) == len(shown), where
        for k, (a, b) in enumerate(zip(got, shown, strict=True)):
            _same(a, b, f"{where}[{k}]")
    elif isinstance(shown, float):
        # Another CPU's last bits can move a fused figure across a whole count.
        whole = shown.is_integer() and abs(shown) >= 1
        assert got == pytest.approx(shown, rel=1e-4, abs=1.0 if whole else 1e-9), where
    else:
        assert got == shown, where


@pytest.mark.parametrize(("path", "body", "shown"), [pytest.param(*e, id=e[0]) for e in examples()])
def test_the_example_output_is_what_the_demo_answers(
    demo: TestClient,  # type: ignore[type-arg]
    path: str,
    body: Any,
    shown: Any,
) -> None:
    response = demo.post(path, json=body)
    assert response.status_code == 200, response.text
    got = response.json()
    # The version names the moment the demo table was written; the rest must match.
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", got.pop("version"))
    shown = dict(shown)
    shown.pop("version")
    _same(got, shown, "$")


def _render(value: Any, depth: int = 0) -> str:
    """JSON as the README shows it: objects of plain values on one line, the rest indented."""
    pad = "  " * depth
    if isinstance(value, dict):
        if depth and not any(isinstance(v, dict | list) for v in value.values()):
            return (
                "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()) + "}"
            )
        items = (f"{pad}  {json.dumps(k)}: {_render(v, depth + 1)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        return "[\n" + ",\n".join(f"{pad}  {_render(v, depth + 1)}" for v in value) + f"\n{pad}]"
    return json.dumps(value)


def write_readme() -> None:
    """Replace each example's shown output with the demo API's answer."""
    readme = ROOT / "README.md"
    with tempfile.TemporaryDirectory() as tables, demo_client(Path(tables)) as client:

        def answer(match: re.Match[str]) -> str:
            command = match.group(1)
            path, body = _request(command)
            got = client.post(path, json=body).json()
            return f"```sh\n{command}\n```\n\n```json\n{_render(got)}\n```"

        readme.write_text(EXAMPLE.sub(answer, readme.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    write_readme()
