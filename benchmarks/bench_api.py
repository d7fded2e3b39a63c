"""Benchmark the HTTP API over loopback with wrk (``apt-get install -y wrk``).

Measures, in one run, for each ASGI server (uvicorn and, when installed, granian) and each
worker count (1 and 2): ``POST /v1/score`` against a trivial litestar endpoint that decodes the
same body, served by the same server with the same workers; and ``POST /v1/fuse`` with 50
reports. For a table of 100k outlets it measures the time to load it and the server's resident
memory. Prints a Markdown section for ``benchmarks/RESULTS.md``.

First, without a server or wrk, the same three requests are sent straight to the ASGI apps in
this process (access log on, as served) and timed by this process's CPU time: on a machine
shared with other jobs, where wrk's figures swing with the load, these ratios are what can be
compared between runs. ``--in-process`` stops after them.

    .venv/bin/python benchmarks/bench_api.py --duration 10 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from api.app import create_app
from api.catalog import OutletCatalog
from api.observability import Metrics, access_log, configure_logging
from api.registry import TableRegistry
from api.settings import Settings
from reliability.outlet_model import OutletModel
from reliability.synth import generate, preset
from reliability.table import ScoreTable
from reliability.tablestore import TableStore, read_table_file

BIN = Path(sys.executable).parent
API_FACTORY = "api.app:app_from_environment"
TRIVIAL_APP = "benchmarks.api.trivial:app"
ROOT = Path(__file__).resolve().parent.parent
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    #: CPU time of the server's processes per request answered: on a shared machine it
    #: swings far less with other jobs' load than requests per second do
    server_cpu_ms: float


def fitted_table() -> ScoreTable:
    data = generate(preset("core", n_outlets=200, n_events=1500, n_reports=12000, seed=3))
    model = OutletModel(cv_folds=0).fit(data.reports, data.consensus, data.outlets)
    return model.to_table(version="bench", created_at=datetime.now(UTC), inputs=None)


def widened(table: ScoreTable, n_outlets: int) -> ScoreTable:
    """The table with its outlets repeated under new names up to ``n_outlets`` outlets."""
    names = sorted({score.outlet for score in table.outlets})
    by_outlet = {name: [s for s in table.outlets if s.outlet == name] for name in names}
    outlets = [
        msgspec.structs.replace(score, outlet=f"outlet-{i:06d}", aliases=[f"alias-{i:06d}"])
        for i in range(n_outlets)
        for score in by_outlet[names[i % len(names)]]
    ]
    return msgspec.structs.replace(table, outlets=outlets)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(command: list[str], port: int, tables: Path | None) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "RELIABILITY_PUBLIC_READ": "true", "RELIABILITY_RATE_LIMIT": "0"}
    if tables is not None:
        env["RELIABILITY_TABLES"] = str(tables)
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{port}/v1/score", json={}, timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {' '.join(command)}") from None
                time.sleep(0.1)
        _wait_until_idle(process.pid, deadline)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_idle(pid: int, deadline: float) -> None:
    """Wait until the server's processes stop burning CPU: every worker has started.

    One answered request shows one worker ready; the others may still be loading the table,
    and connections made meanwhile would all stay with the first worker.
    """
    used = tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = tree_cpu_seconds(pid)
        if now - used < 0.05:
            return
        used = now
    raise RuntimeError("the server's processes did not settle after start-up")


def server_command(kind: str, target: str, port: int, workers: int) -> list[str]:
    """The command line serving the ASGI ``target`` (``module:attr``) with ``kind``."""
    factory = target == API_FACTORY
    if kind == "uvicorn":
        return [
            str(BIN / "uvicorn"),
            target,
            *(["--factory"] if factory else []),
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    return [
        str(BIN / "granian"),
        "--interface",
        "asgi",
        *(["--factory"] if factory else []),
        "--no-ws",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        target,
    ]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while listing
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = int(fields[11]) + int(fields[12])
    total = 0
    for child, ticks in times.items():
        ancestor = child
        while ancestor not in (pid, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == pid:
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str, body: bytes, *, server_pid: int, duration: int, connections: int, scratch: Path
) -> Run:
    script = scratch / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [[{body.decode()}]]\n"
    )
    cpu_before = tree_cpu_seconds(server_pid)
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw error responses from {url}:\n{output}")
    cpu = tree_cpu_seconds(server_pid) - cpu_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    return Run(rps, _percentile(output, "50%"), _percentile(output, "99%"), cpu / requests * 1e3)


def _percentile(output: str, label: str) -> float:
    match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", output)
    assert match is not None, output
    return float(match[1]) * _UNITS[match[2]]


async def _asgi_post(app: Any, path: str, body: bytes) -> None:
    """One POST through an ASGI app, as a server would deliver it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    statuses = []

    async def receive() -> Any:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [200]:
        raise RuntimeError(f"{path} answered {statuses}")


def in_process(tables: Path, score_body: bytes, fuse_body: bytes) -> dict[str, float]:
    """Median CPU milliseconds per request of the trivial app, /v1/score and /v1/fuse."""
    module, _, name = TRIVIAL_APP.partition(":")
    trivial_module = importlib.import_module(module)
    trivial = getattr(trivial_module, name)

    app = create_app(Settings(tables=str(tables), public_read=True, rate_limit=0))
    app.register(trivial_module.stacked)
    cases = {
        "trivial litestar": (trivial, "/v1/score", score_body, 2000),
        "trivial route, app's stack": (app, "/v1/trivial", score_body, 2000),
        "POST /v1/score": (app, "/v1/score", score_body, 2000),
        "POST /v1/fuse (50 reports)": (app, "/v1/fuse", fuse_body, 400),
    }

    async def run() -> dict[str, float]:
        out = {}
        for name, (target, path, body, count) in cases.items():
            for _ in range(count // 10):
                await _asgi_post(target, path, body)
            rounds = []
            for _ in range(7):
                started = time.process_time()
                for _ in range(count):
                    await _asgi_post(target, path, body)
                rounds.append((time.process_time() - started) / count * 1e3)
            out[name] = sorted(rounds)[len(rounds) // 2]
        return out

    async def serve() -> dict[str, float]:
        async with app.lifespan():
            return await run()

    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        # As served, every request formats its access-log line (here, to nowhere).
        configure_logging()
        try:
            return asyncio.run(serve())
        finally:
            logging.getLogger("reliability").handlers.clear()
            access_log.stream = None


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match[1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--outlets", type=int, default=100_000, help="outlets of the big table")
    parser.add_argument("--in-process", action="store_true", help="only the in-process timing")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    servers = [kind for kind in ("uvicorn", "granian") if (BIN / kind).exists()]
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="bench-api-"))
    table = fitted_table()
    tables = scratch / "tables"
    TableStore(tables).publish(table)
    metric = table.metrics[0].metric
    outlets = sorted({s.outlet for s in table.outlets if s.metric == metric})
    score_body = msgspec.json.encode({"outlet": outlets[0], "metric": metric, "value": 120})
    fuse_body = msgspec.json.encode(
        {
            "reports": [
                {"outlet": outlets[i % len(outlets)], "metric": metric, "value": 100 + i}
                for i in range(50)
            ]
        }
    )
    load_in = os.getloadavg()
    cpu = in_process(tables, score_body, fuse_body)
    print(f"## API in process (bench_api.py), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(
        f"nproc {os.cpu_count()}; load average before {load_in}, after {os.getloadavg()}; "
        "median of 7 rounds, CPU ms per request through the ASGI app.\n"
    )
    print("| endpoint | CPU ms per request | req/s vs trivial (1 core) | latency vs score |")
    print("|---|---:|---:|---:|")
    for name, ms in cpu.items():
        print(
            f"| {name} | {ms:.3f} | {cpu['trivial litestar'] / ms:.0%} "
            f"| {ms / cpu['POST /v1/score']:.2f}x |"
        )
    print()
    if args.in_process:
        shutil.rmtree(scratch)
        return 0
    run = {"duration": args.duration, "connections": args.connections, "scratch": scratch}
    rows = []
    for kind in servers:
        for workers in (1, 2):
            port = free_port()
            command = server_command(kind, TRIVIAL_APP, port, workers)
            with server(command, port, None) as process:
                trivial = wrk(
                    f"http://127.0.0.1:{port}/v1/score", score_body, server_pid=process.pid, **run
                )
            port = free_port()
            command = server_command(kind, API_FACTORY, port, workers)
            with server(command, port, tables) as process:
                score = wrk(
                    f"http://127.0.0.1:{port}/v1/score", score_body, server_pid=process.pid, **run
                )
                fuse = wrk(
                    f"http://127.0.0.1:{port}/v1/fuse", fuse_body, server_pid=process.pid, **run
                )
            rows.append((kind, workers, trivial, score, fuse))

    big = widened(table, args.outlets)
    big_dir = scratch / "big"
    TableStore(big_dir).publish(big)
    n_rows = len(big.outlets)
    del big
    started = time.perf_counter()
    loaded = read_table_file(big_dir / "latest.json")
    OutletModel.from_table(loaded)
    OutletCatalog(loaded)
    load_seconds = time.perf_counter() - started
    del loaded
    # as the server loads it: also the ETag, the collector paused, then one collection
    started, cpu_started = time.perf_counter(), time.process_time()
    TableRegistry(TableStore(big_dir), Metrics()).reload()
    served_load = (time.perf_counter() - started, time.process_time() - cpu_started)
    port = free_port()
    with server(server_command(servers[0], API_FACTORY, port, 1), port, big_dir) as process:
        big_score = wrk(
            f"http://127.0.0.1:{port}/v1/score",
            score_body.replace(outlets[0].encode(), b"outlet-000000"),
            server_pid=process.pid,
            **run,
        )
        rss = rss_mib(process.pid)
    size_mib = (big_dir / "latest.json").stat().st_size / 2**20

    print(f"## API (bench_api.py), {datetime.now(UTC):%Y-%m-%d}\n")
    print(
        f"Command: `.venv/bin/python benchmarks/bench_api.py --duration {args.duration} "
        f"--connections {args.connections} --outlets {args.outlets}`; nproc {os.cpu_count()}; "
        f"wrk -t2 -c{args.connections}, loopback; load average before "
        f"{load_before}, after {os.getloadavg()}.\n"
    )
    print(
        "| server | workers | endpoint | req/s | p50 ms | p99 ms | req/s vs trivial "
        "| server CPU ms/request | CPU: trivial / this |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, workers, trivial, score, fuse in rows:
        for name, result in (
            ("trivial litestar", trivial),
            ("POST /v1/score", score),
            ("POST /v1/fuse (50 reports)", fuse),
        ):
            ratio = result.requests_per_second / trivial.requests_per_second
            print(
                f"| {kind} | {workers} | {name} | {result.requests_per_second:,.0f} | "
                f"{result.p50_ms:.2f} | {result.p99_ms:.2f} | {ratio:.0%} | "
                f"{result.server_cpu_ms:.3f} | {trivial.server_cpu_ms / result.server_cpu_ms:.0%} |"
            )
    print()
    print(
        f"Table of {args.outlets:,} outlets ({n_rows:,} rows, {size_mib:.0f} MiB JSON): "
        f"load (decode + model + index) {load_seconds:.1f} s; as the server loads it "
        f"{served_load[0]:.1f} s (CPU {served_load[1]:.1f} s); server RSS {rss:.0f} MiB; "
        f"POST /v1/score {big_score.requests_per_second:,.0f} req/s, "
        f"p99 {big_score.p99_ms:.2f} ms (1 {servers[0]} worker)."
    )
    shutil.rmtree(scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
