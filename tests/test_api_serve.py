"""``reliability serve`` end to end: a real uvicorn process answering over loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.settings import hash_key
from reliability import exitcodes
from reliability.cli import main
from tests.conftest import API_READ_KEY

EXE = Path(sys.executable).parent / "reliability"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "reliability serve --tables" in capsys.readouterr().out


def test_bad_settings_exit_with_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELIABILITY_MAX_BATCH", "-1")
    assert main(["serve", "--tables", str(tmp_path)]) == exitcodes.INPUT_ERROR
    assert "max_batch" in capsys.readouterr().err


@pytest.mark.slow
def test_serves_scores_over_loopback(api_tables_dir: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "RELIABILITY_API_KEYS": f'[{{"name": "t", "sha256": "{hash_key(API_READ_KEY)}"}}]',
    }
    server = subprocess.Popen(
        [str(EXE), "serve", "--tables", str(api_tables_dir), "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        response = httpx.get(f"{base}/v1/outlets?limit=2", headers={"X-API-Key": API_READ_KEY})
        assert response.status_code == 200
        assert len(response.json()["items"]) == 2
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=15)
    assert server.returncode == 0
    # the server's logs are JSON lines
    assert any(line.startswith('{"time"') for line in stderr.splitlines())
