"""Hot reload: new tables are swapped in atomically under load; a broken one is refused."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

import api.registry
from api.app import create_app
from api.catalog import OutletCatalog
from api.observability import Metrics
from api.registry import Reload, TableRegistry, settle_heap
from api.settings import Settings
from reliability.table import ScoreTable
from reliability.tablestore import TableStore, atomic_write
from tests.conftest import API_ADMIN_KEY, API_READ_KEY


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the reload"
        time.sleep(0.01)


def _later(table: ScoreTable, hours: int) -> ScoreTable:
    return msgspec.structs.replace(table, created_at=table.created_at + timedelta(hours=hours))


def test_swaps_under_load_without_failed_requests(
    api_settings: Settings, api_table: ScoreTable, api_tables_dir: Path
) -> None:
    settings = msgspec.structs.replace(api_settings, reload_interval=0.02)
    store = TableStore(api_tables_dir)
    metric = api_table.metrics[0].metric
    seen: list[tuple[int, str | None]] = []
    stop = threading.Event()
    with TestClient(create_app(settings)) as client:
        client.headers["X-API-Key"] = API_READ_KEY
        registry: TableRegistry = client.app.state.registry
        loaded = {registry.require().version}

        def hammer() -> None:
            while not stop.is_set():
                response = client.post(
                    "/v1/score", json={"outlet": "somebody", "metric": metric, "value": 10}
                )
                seen.append((response.status_code, response.json().get("version")))

        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            for hours in (1, 2):
                version = store.publish(_later(api_table, hours)).stem
                _wait_for(lambda v=version: registry.require().version == v)  # type: ignore[misc]
                loaded.add(version)
            serving = registry.require().version
            atomic_write(store.latest_path, b'{"schema_version": 1, "version": "broken"')
            _wait_for(lambda: registry.last_failure is not None)
            assert registry.require().version == serving
            ready = client.get("/ready").json()
            assert ready["version"] == serving
            assert "not valid JSON" in ready["last_reload_error"]["message"]
            version = store.publish(_later(api_table, 3)).stem
            _wait_for(lambda: registry.require().version == version)
            loaded.add(version)
            # Bounded by requests, not time, so a slow machine still sends enough of them.
            _wait_for(lambda: len(seen) > 20, timeout=60.0)
        finally:
            stop.set()
            worker.join()
        metrics = client.get("/metrics").text
    assert len(seen) > 20
    assert {status for status, _ in seen} == {200}
    assert {version for _, version in seen} <= loaded
    assert len({version for _, version in seen}) >= 2
    assert "reliability_table_reload_failures_total 1.0" in metrics


def test_admin_reload_refuses_a_broken_table_and_keeps_serving(
    api_settings: Settings, api_table: ScoreTable, api_tables_dir: Path
) -> None:
    store = TableStore(api_tables_dir)
    with TestClient(create_app(api_settings)) as client:
        client.headers["X-API-Key"] = API_ADMIN_KEY
        serving = client.get("/ready").json()["version"]
        assert client.post("/v1/admin/reload").json() == {"reloaded": False, "version": serving}
        atomic_write(store.latest_path, b"[]")
        refused = client.post("/v1/admin/reload")
        assert refused.status_code == 409
        assert refused.json()["context"] == {"serving": serving}
        assert client.get("/ready").json()["version"] == serving
        newer = store.publish(_later(api_table, 5)).stem
        assert client.post("/v1/admin/reload").json() == {"reloaded": True, "version": newer}
        assert client.get("/ready").json()["last_reload_error"] is None


def test_starts_without_a_table_and_picks_one_up(
    api_settings: Settings, api_table: ScoreTable, tmp_path: Path
) -> None:
    directory = tmp_path / "later"
    settings = msgspec.structs.replace(api_settings, tables=str(directory), reload_interval=0.02)
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 503
        version = TableStore(directory).publish(api_table).stem
        _wait_for(lambda: client.get("/ready").status_code == 200)
        assert client.get("/ready").json()["version"] == version


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settling_frees_cycles_it_froze_earlier() -> None:
    cycle = _Cycle()
    gone = weakref.ref(cycle)
    settle_heap()
    assert gc.get_freeze_count() > 0
    del cycle
    gc.collect()
    assert gone() is not None, "a frozen cycle is beyond the collector"
    settle_heap()
    assert gone() is None


def test_a_swapped_out_table_is_freed(api_table: ScoreTable, api_tables_dir: Path) -> None:
    store = TableStore(api_tables_dir)
    registry = TableRegistry(store, Metrics())
    assert registry.reload() is Reload.LOADED
    old_catalog = weakref.ref(registry.require().catalog)
    old_model = weakref.ref(registry.require().model)
    store.publish(_later(api_table, 1))
    assert registry.reload() is Reload.LOADED
    assert old_catalog() is None
    assert old_model() is None
    assert registry.require().catalog is not None


def test_the_collector_is_paused_only_while_a_table_is_built(
    api_table: ScoreTable, api_tables_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enabled_while_building: list[bool] = []

    def catalog(table: ScoreTable) -> OutletCatalog:
        enabled_while_building.append(gc.isenabled())
        return OutletCatalog(table)

    monkeypatch.setattr(api.registry, "OutletCatalog", catalog)
    store = TableStore(api_tables_dir)
    registry = TableRegistry(store, Metrics())
    assert registry.reload() is Reload.LOADED
    assert enabled_while_building == [False]
    assert gc.isenabled()
    atomic_write(store.latest_path, b"{not json")
    assert registry.reload() is Reload.REFUSED
    assert gc.isenabled()
