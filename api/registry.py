"""The table being served, swapped atomically when the batch job publishes a new one.

A :class:`Snapshot` holds everything derived from one table (model, catalog, ETag) and
is never mutated; the registry replaces its reference in one assignment. A request reads that
reference once and uses only that snapshot, so it never sees half of one table and half of
another. A new table that cannot be read or used is refused: the old snapshot stays, the
failure is logged, counted and shown by ``/ready``.
"""

from __future__ import annotations

import enum
import gc
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio

from api.catalog import OutletCatalog
from api.observability import Metrics
from api.problems import ProblemError
from reliability.outlet_model import OutletModel
from reliability.table import ScoreTable
from reliability.tablestore import TableStore, decode_table

log = logging.getLogger("reliability.api.tables")

#: ``(mtime_ns, size)`` of ``latest.json``: a change of either means a new file to check.
Signature = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One loaded table and what the API derives from it."""

    table: ScoreTable
    model: OutletModel
    catalog: OutletCatalog
    #: ETag of the table file. The file's bytes are not kept (as large as the decoded table):
    #: ``encode_table(table)`` gives them back, byte for byte for a file the store wrote.
    etag: str
    loaded_at: datetime
    signature: Signature

    @property
    def version(self) -> str:
        return self.table.version


@dataclass(frozen=True, slots=True)
class ReloadFailure:
    message: str
    at: datetime
    signature: Signature | None


class Reload(enum.Enum):
    LOADED = "loaded"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


def entity_tag(body: bytes) -> str:
    """A strong ETag for a response body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic collections while a table is built: they would walk its growing heap again
    and again (half the CPU time of loading a 100k-outlet table), holding the GIL each time.
    :func:`settle_heap` collects once afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def settle_heap() -> None:
    """Collect what is garbage now, then exempt every surviving object from later collections.

    A 100k-outlet table is millions of objects: a full collection walks them all and holds
    the GIL for about 0.3 s, a stall of every request in flight. Frozen, they are never walked
    again (reference counting still frees them). Unfreezing first puts the objects of earlier
    tables back under the collector, so a swapped-out table is collected, cycles included.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class TableRegistry:
    """Holds the current :class:`Snapshot` of a table directory and reloads it on change."""

    def __init__(self, store: TableStore, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics
        self._snapshot: Snapshot | None = None
        self._failure: ReloadFailure | None = None
        self._reload_lock = threading.Lock()

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    @property
    def last_failure(self) -> ReloadFailure | None:
        """The most recent refused reload, cleared by the next successful one."""
        return self._failure

    def require(self) -> Snapshot:
        """The current snapshot, or a 503 problem when no table has been loaded."""
        snapshot = self._snapshot
        if snapshot is None:
            detail = f"No score table is loaded yet from {self.store.path}."
            if self._failure is not None:
                detail += f" Last attempt: {self._failure.message}"
            raise ProblemError(503, "no-table", detail, headers={"Retry-After": "10"})
        return snapshot

    def reload(self, *, force: bool = False) -> Reload:
        """Load ``latest.json`` if it changed (or always, with ``force``).

        A file that failed before is not retried until it changes again, so one broken
        table is logged and counted once rather than on every poll.
        """
        with self._reload_lock:
            signature = self._signature()
            current = self._snapshot
            if not force:
                if current is not None and current.signature == signature:
                    return Reload.UNCHANGED
                if self._failure is not None and self._failure.signature == signature:
                    return Reload.UNCHANGED
            try:
                with _collector_paused():
                    snapshot = self._load(signature)
            except Exception as error:  # any failure must leave the old table serving
                self._refuse(str(error), signature)
                return Reload.REFUSED
            unchanged = current is not None and snapshot.etag == current.etag
            self._snapshot = snapshot
            self._failure = None
            del current
            settle_heap()
            if unchanged:
                return Reload.UNCHANGED  # same content, newer file stamp
            self.metrics.table_loaded(snapshot.version, snapshot.table.created_at)
            log.info(
                "table loaded",
                extra={"version": snapshot.version, "outlets": len(snapshot.table.outlets)},
            )
            return Reload.LOADED

    async def poll(self, interval: float) -> None:
        """Check for a new table every ``interval`` seconds, until cancelled."""
        while True:
            await anyio.sleep(interval)
            await anyio.to_thread.run_sync(self.reload)

    def _signature(self) -> Signature | None:
        try:
            stat = os.stat(self.store.latest_path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _load(self, signature: Signature | None) -> Snapshot:
        path = self.store.latest_path
        try:
            body = path.read_bytes()
        except OSError as error:
            raise OSError(f"{path}: cannot read: {error.strerror or error}") from None
        table = decode_table(body, str(path))
        try:
            model = OutletModel.from_table(table)
        except Exception as error:
            raise ValueError(f"{path}: table {table.version!r} cannot be used: {error}") from error
        return Snapshot(
            table=table,
            model=model,
            catalog=OutletCatalog(table),
            etag=entity_tag(body),
            loaded_at=datetime.now(UTC),
            signature=signature or (0, len(body)),
        )

    def _refuse(self, message: str, signature: Signature | None) -> None:
        self._failure = ReloadFailure(message=message, at=datetime.now(UTC), signature=signature)
        self.metrics.reload_failures.inc()
        serving = self._snapshot.version if self._snapshot else None
        log.error("table reload refused", extra={"reason": message, "serving": serving})
