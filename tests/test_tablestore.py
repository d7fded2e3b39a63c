"""The versioned table directory: atomic publish, locking, crash safety, retention."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest

from reliability.tablestore import (
    LATEST,
    TEMP_PREFIX,
    NoTableError,
    StoreBusyError,
    StoreWriteError,
    TableError,
    TableStore,
    content_hash,
    read_table_file,
    version_time,
)
from tests.table_factory import CREATED, make_table, outlet

ROOT = Path(__file__).resolve().parent.parent


def test_publish_writes_version_and_identical_latest(tmp_path: Path) -> None:
    store = TableStore(tmp_path / "tables")
    path = store.publish(make_table())
    assert path.name == f"20261125T120305Z-{content_hash(make_table())}.json"
    assert (tmp_path / "tables" / LATEST).read_bytes() == path.read_bytes()
    latest = store.latest()
    assert latest.version == path.stem
    assert latest.outlets == make_table().outlets
    assert [info.version for info in store.versions()] == [path.stem]
    assert store.versions()[0].is_latest


def test_hash_ignores_version_and_time_but_not_content() -> None:
    a = make_table()
    b = make_table(created_at=CREATED + timedelta(days=3), version="whatever")
    c = make_table(coverage90=0.8)
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(c)


def test_same_second_gets_microseconds_and_sorts_by_time(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    first = store.publish(make_table())
    second = store.publish(make_table(created_at=CREATED + timedelta(microseconds=250)))
    later = store.publish(make_table(created_at=CREATED + timedelta(seconds=1)))
    assert second.stem.startswith("20261125T120305.000250Z-")
    assert [info.path for info in store.versions()] == [first, second, later]
    assert store.latest().version == later.stem
    assert version_time(second.stem) == CREATED + timedelta(microseconds=250)


def test_missing_latest_is_no_table_error(tmp_path: Path) -> None:
    with pytest.raises(NoTableError, match="no such table file"):
        TableStore(tmp_path).latest()


def test_corrupt_file_names_file_and_json_path(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.publish(make_table())
    doc = json.loads((tmp_path / LATEST).read_text())
    doc["outlets"][1]["n_reports"] = "many"
    (tmp_path / LATEST).write_text(json.dumps(doc))
    with pytest.raises(TableError, match=r"latest\.json.*\$\.outlets\[1\]\.n_reports"):
        store.latest()
    (tmp_path / LATEST).write_text('{"schema_version": 1, "vers')
    with pytest.raises(TableError, match=r"latest\.json: not valid JSON"):
        store.latest()


def test_older_table_without_new_fields_is_refused_by_its_version(tmp_path: Path) -> None:
    # A version-1 table has no per-group spread prior: the error names the version, not a field.
    doc = json.loads(msgspec.json.encode(make_table()))
    doc["schema_version"] = 1
    for group in doc["groups"]:
        del group["sd_prior_scale"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(TableError, match=r"schema_version 1 is not supported .*recalibrate"):
        read_table_file(path)


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(msgspec.json.encode(msgspec.structs.replace(make_table(), schema_version=9)))
    with pytest.raises(TableError, match="schema_version 9 is not supported"):
        read_table_file(path)


def test_temp_files_are_ignored_then_cleaned(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.publish(make_table())
    stale = tmp_path / f"{TEMP_PREFIX}20261125T130000Z-deadbeef.json.123.abcd"
    stale.write_text('{"half')
    (tmp_path / "notes.json").write_text("{}")
    assert len(store.versions()) == 1
    store.publish(make_table(coverage90=0.7))
    assert not stale.exists()
    assert (tmp_path / "notes.json").exists()


def test_second_job_is_refused_at_once(tmp_path: Path) -> None:
    first = TableStore(tmp_path)
    second = TableStore(tmp_path)
    with first.lock():
        start = time.monotonic()
        with pytest.raises(StoreBusyError, match="another job holds the lock"):
            second.publish(make_table())
        assert time.monotonic() - start < 1.0
    assert list(tmp_path.glob("*Z-*.json")) == []
    second.publish(make_table())


def test_second_job_waits_for_the_first(tmp_path: Path) -> None:
    first = TableStore(tmp_path)
    order: list[str] = []

    def hold() -> None:
        with first.lock():
            order.append("first-start")
            time.sleep(0.3)
            first.publish(make_table())
            order.append("first-end")

    thread = threading.Thread(target=hold)
    thread.start()
    while not order:
        time.sleep(0.01)
    second = TableStore(tmp_path)
    with second.lock(timeout=5.0):
        order.append("second")
        second.publish(make_table(created_at=CREATED + timedelta(seconds=1)))
    thread.join()
    assert order == ["first-start", "first-end", "second"]
    assert len(second.versions()) == 2


def test_wait_gives_up_after_timeout(tmp_path: Path) -> None:
    with (
        TableStore(tmp_path).lock(),
        pytest.raises(StoreBusyError, match=r"after waiting 0\.2 s"),
        TableStore(tmp_path).lock(timeout=0.2),
    ):
        pass


def test_unwritable_directory_is_a_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreWriteError, match="cannot use as a table directory"):
        TableStore(blocker / "tables").publish(make_table())
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("failing_write", [1, 2])
def test_disk_full_keeps_previous_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_write: int
) -> None:
    store = TableStore(tmp_path)
    store.publish(make_table())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_write = os.write
    calls = {"n": 0}

    def full_disk(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == failing_write:
            real_write(fd, bytes(data[:100]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(StoreWriteError, match="no space left on device"):
        store.publish(make_table(created_at=CREATED + timedelta(seconds=5), coverage90=0.5))
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before
    assert store.latest().diagnostics[0].model.coverage90 == 0.9


KILL_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from datetime import timedelta
    from pathlib import Path
    from reliability.tablestore import TableStore
    from tests.table_factory import CREATED, make_table, outlet

    directory, marker, stall_at = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    real_replace = os.replace
    calls = []

    def stalling_replace(src, dst):
        calls.append(dst)
        if len(calls) == stall_at:
            marker.touch()
            time.sleep(60)
        real_replace(src, dst)

    os.replace = stalling_replace
    big = make_table([outlet(f"outlet-{i}", bias=0.01 * (i % 50)) for i in range(5000)],
                     created_at=CREATED + timedelta(hours=1))
    TableStore(directory).publish(big)
    """
)


@pytest.mark.parametrize("stall_at", [1, 2])
def test_kill_9_mid_publish_leaves_latest_intact(tmp_path: Path, stall_at: int) -> None:
    directory = tmp_path / "tables"
    store = TableStore(directory)
    store.publish(make_table())
    previous = (directory / LATEST).read_bytes()
    marker = tmp_path / "stalled"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(directory), str(marker), str(stall_at)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "publisher exited before stalling"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (directory / LATEST).read_bytes() == previous
    assert list(directory.glob(f"{TEMP_PREFIX}*")), "the killed writer left its temp file"
    assert len(store.versions()) == stall_at
    assert store.latest().outlets == make_table().outlets
    store.publish(make_table(created_at=CREATED + timedelta(hours=2)))
    assert list(directory.glob(f"{TEMP_PREFIX}*")) == []
    assert len(store.versions()) == stall_at + 1


def test_rollback_and_prune(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    paths = [
        store.publish(
            make_table([outlet("a", bias=0.1 * i)], created_at=CREATED + timedelta(days=i))
        )
        for i in range(5)
    ]
    store.rollback(paths[1].stem)
    assert store.latest().version == paths[1].stem
    assert (tmp_path / LATEST).read_bytes() == paths[1].read_bytes()
    deleted = store.prune(2)
    assert deleted == [paths[0].stem, paths[2].stem]
    assert [info.version for info in store.versions()] == [p.stem for p in (paths[1], *paths[3:])]
    with pytest.raises(ValueError, match="keep must be at least 1"):
        store.prune(0)
    with pytest.raises(TableError, match="not a version id"):
        store.rollback("../../etc/passwd")
    with pytest.raises(NoTableError):
        store.rollback(paths[0].stem)


def test_table_with_nan_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    broken = make_table([outlet("a", sd=float("nan"))])
    with pytest.raises(TableError, match=r"table to publish.*\$\.outlets\[0\]"):
        store.publish(broken)
    assert store.versions() == []
    assert not (tmp_path / LATEST).exists()


def test_numpy_scalars_are_written_as_numbers(tmp_path: Path) -> None:
    table = make_table([outlet("a", sd=np.float64(0.25))])
    TableStore(tmp_path).publish(table)
    read = TableStore(tmp_path).latest().outlets[0].sd.estimate
    assert type(read) is float
    assert read == 0.25


def test_unencodable_values_are_a_table_error(tmp_path: Path) -> None:
    table = msgspec.structs.replace(make_table(), config={"when": object()})
    with pytest.raises(TableError, match="cannot be written as JSON"):
        TableStore(tmp_path).publish(table)
    assert list(tmp_path.iterdir()) == [tmp_path / ".lock"]
