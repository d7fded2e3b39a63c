"""Shared fixtures. API fixtures are prefixed ``api_``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.settings import ApiKey, Scope, Settings, hash_key
from reliability.outlet_model import OutletModel
from reliability.synth import generate, preset
from reliability.table import ScoreTable
from reliability.tablestore import TableStore

API_READ_KEY = "read-key-for-tests"
API_ADMIN_KEY = "admin-key-for-tests"


@pytest.fixture(scope="session")
def api_table() -> ScoreTable:
    """A table fitted on a small synthetic data set (fitted once per test session)."""
    data = generate(preset("core", n_outlets=30, n_events=150, n_reports=900, seed=7))
    outlets = data.outlets.with_columns(
        aliases=pl.concat_list(pl.format("{} wire", pl.col("outlet")).str.to_uppercase())
    )
    model = OutletModel(cv_folds=0, grid_size=128).fit(data.reports, data.consensus, outlets)
    return model.to_table(
        version="fixture", created_at=datetime(2026, 1, 5, 12, 0, tzinfo=UTC), inputs=None
    )


@pytest.fixture
def api_tables_dir(tmp_path: Path, api_table: ScoreTable) -> Path:
    """A table directory with ``api_table`` published once."""
    directory = tmp_path / "tables"
    TableStore(directory).publish(api_table)
    return directory


@pytest.fixture
def api_model(api_tables_dir: Path) -> OutletModel:
    """The model the server builds from the published table, run in process."""
    return OutletModel.from_table(TableStore(api_tables_dir).latest())


@pytest.fixture
def api_settings(api_tables_dir: Path) -> Settings:
    """A read key and an admin key, no rate limit, no background polling."""
    return Settings(
        tables=str(api_tables_dir),
        api_keys=(
            ApiKey(name="reader", sha256=hash_key(API_READ_KEY)),
            ApiKey(
                name="operator",
                sha256=hash_key(API_ADMIN_KEY),
                scopes=frozenset({Scope.READ, Scope.ADMIN}),
            ),
        ),
        rate_limit=0,
        reload_interval=0,
    )


@pytest.fixture
def api_client(api_settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A client of the app over ``api_settings``, sending the read key."""
    with TestClient(create_app(api_settings)) as client:
        client.headers["X-API-Key"] = API_READ_KEY
        yield client
