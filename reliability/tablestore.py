"""A directory of versioned score tables, written atomically under an exclusive lock.

The directory holds one ``<version>.json`` per published table and ``latest.json``, a full
copy of the current one, so a reader never has to follow a pointer. Every file is written to
a temporary file in the same directory (prefix ``.tmp-``), flushed and fsynced, then renamed
over its target and the directory fsynced: a crash at any moment leaves the previous
``latest.json`` intact, and leftover temporary files are ignored by listing and removed by
the next writer.

>>> import tempfile, pathlib
>>> store = TableStore(pathlib.Path(tempfile.mkdtemp()) / "tables")
>>> store.versions()
[]
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np

from reliability.table import SCHEMA_VERSION, ScoreTable

LATEST = "latest.json"
LOCK = ".lock"
TEMP_PREFIX = ".tmp-"
VERSION_PATTERN = re.compile(r"^(\d{8}T\d{6})(?:\.(\d{6}))?Z-([0-9a-f]{8})$")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOCK_POLL_SECONDS = 0.05


class TableError(Exception):
    """A table file is missing, unreadable or does not match the score-table schema."""


class NoTableError(TableError):
    """The directory has no ``latest.json`` (nothing was published yet)."""


class StoreBusyError(Exception):
    """Another process holds the directory's lock."""


class StoreWriteError(Exception):
    """The directory or one of its files could not be written; nothing visible changed."""


@dataclass(frozen=True)
class VersionInfo:
    """One published version in a table directory."""

    version: str
    path: Path
    created_at: datetime
    size_bytes: int
    is_latest: bool


class _Head(msgspec.Struct):
    version: str


def _builtin(value: object) -> object:
    # Estimators compute with numpy; its scalars are numbers to JSON, not unknown objects.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a {type(value).__name__} is not a JSON value")


_ENCODER = msgspec.json.Encoder(enc_hook=_builtin)
_SORTED_ENCODER = msgspec.json.Encoder(enc_hook=_builtin, order="sorted")


def _encode(encoder: msgspec.json.Encoder, table: ScoreTable) -> bytes:
    try:
        return encoder.encode(table)
    except TypeError as exc:
        raise TableError(f"the table cannot be written as JSON: {exc}") from None


def content_hash(table: ScoreTable) -> str:
    """First 8 hex digits of the SHA-256 of the table without its ``version`` and ``created_at``.

    Two fits that learned the same thing get the same hash, whenever they ran.
    """
    anonymous = msgspec.structs.replace(table, version="", created_at=_EPOCH)
    return hashlib.sha256(_encode(_SORTED_ENCODER, anonymous)).hexdigest()[:8]


def version_id(table: ScoreTable, *, precise: bool = False) -> str:
    """The version id of ``table``: its UTC creation time and content hash.

    ``precise`` adds microseconds, used when another version was created in the same second.

    >>> from reliability.table import ScoreTable
    >>> t = ScoreTable(schema_version=1, version="", created_at=datetime(2026, 11, 25, 12, 3, 5,
    ...     tzinfo=UTC), config={}, inputs=None, metrics=[], groups=[], outlets=[], diagnostics=[])
    >>> version_id(t)[:17]
    '20261125T120305Z-'
    """
    created = table.created_at.astimezone(UTC)
    stamp = created.strftime("%Y%m%dT%H%M%S.%f" if precise else "%Y%m%dT%H%M%S")
    return f"{stamp}Z-{content_hash(table)}"


def version_time(version: str) -> datetime | None:
    """The creation time encoded in a version id, or None when it is not a version id."""
    match = VERSION_PATTERN.match(version)
    if match is None:
        return None
    seconds, micros, _ = match.groups()
    stamp = datetime.strptime(seconds, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return stamp.replace(microsecond=int(micros)) if micros else stamp


def encode_table(table: ScoreTable) -> bytes:
    """The table as indented JSON, the form every table file has."""
    return msgspec.json.format(_encode(_ENCODER, table), indent=1) + b"\n"


def decode_table(data: bytes, source: str) -> ScoreTable:
    """Decode and validate a score table; errors name ``source`` and the JSON path."""
    try:
        table = msgspec.json.decode(data, type=ScoreTable)
    except msgspec.ValidationError as exc:
        # A table of another format version fails on its fields; say which version it is.
        _check_version(_schema_version(data), source)
        raise TableError(f"{source}: not a valid score table: {exc}") from None
    except msgspec.DecodeError as exc:
        raise TableError(f"{source}: not valid JSON: {exc}") from None
    _check_version(table.schema_version, source)
    return table


class _Versioned(msgspec.Struct):
    schema_version: int


def _schema_version(data: bytes) -> int | None:
    try:
        return msgspec.json.decode(data, type=_Versioned).schema_version
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _check_version(version: int | None, source: str) -> None:
    if version is not None and version != SCHEMA_VERSION:
        raise TableError(
            f"{source}: schema_version {version} is not supported "
            f"(this program reads {SCHEMA_VERSION}; recalibrate to write a current table) "
            "- at `$.schema_version`"
        )


def read_table_file(path: Path) -> ScoreTable:
    """Read and validate one table file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NoTableError(f"{path}: no such table file") from None
    except OSError as exc:
        raise TableError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode_table(data, str(path))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never part.

    On failure the temporary file is removed and the error propagates; ``path`` is untouched.
    """
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    return exc.strerror or str(exc)


class TableStore:
    """A versioned, atomic, locked directory of score tables.

    Mutating calls (``publish``, ``rollback``, ``prune``) take the lock themselves unless the
    caller already holds it through :meth:`lock`, which a batch job does for its whole run so
    that two jobs never interleave.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    @property
    def latest_path(self) -> Path:
        return self.path / LATEST

    @contextlib.contextmanager
    def lock(self, timeout: float = 0.0) -> Iterator[None]:
        """Hold the directory's exclusive lock, creating the directory if needed.

        Waits up to ``timeout`` seconds for another holder, then raises :class:`StoreBusyError`.
        Stale temporary files of crashed writers are removed once the lock is held.
        """
        if self._lock_fd is not None:
            yield
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreWriteError(
                f"{self.path}: cannot use as a table directory: {_describe(exc)}"
            ) from None
        try:
            self._acquire(fd, timeout)
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd
        try:
            self._remove_temp_files()
            yield
        finally:
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _acquire(self, fd: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
                    raise StoreBusyError(
                        f"{self.path}: another job holds the lock {self.path / LOCK}{waited}; "
                        "retry later or pass --lock-timeout SECONDS to wait"
                    ) from None
                time.sleep(_LOCK_POLL_SECONDS)

    def _remove_temp_files(self) -> None:
        for temp in self.path.glob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def latest(self) -> ScoreTable:
        """The current table; :class:`NoTableError` when nothing was published yet."""
        return read_table_file(self.latest_path)

    def read(self, version: str) -> ScoreTable:
        """One published version."""
        if VERSION_PATTERN.match(version) is None:
            raise TableError(
                f"{self.path}: {version!r} is not a version id (like 20261125T120305Z-3f2a9c1b)"
            )
        return read_table_file(self.path / f"{version}.json")

    def latest_version(self) -> str | None:
        """The version ``latest.json`` holds, or None when it is missing or unreadable."""
        try:
            return msgspec.json.decode(self.latest_path.read_bytes(), type=_Head).version
        except (OSError, msgspec.DecodeError):
            return None

    def versions(self) -> list[VersionInfo]:
        """Published versions, oldest first. Temporary and unrelated files are ignored."""
        if not self.path.is_dir():
            return []
        current = self.latest_version()
        found = []
        for path in self.path.glob("*.json"):
            created = version_time(path.stem)
            if created is None:
                continue
            with contextlib.suppress(FileNotFoundError):
                found.append(
                    VersionInfo(
                        version=path.stem,
                        path=path,
                        created_at=created,
                        size_bytes=path.stat().st_size,
                        is_latest=path.stem == current,
                    )
                )
        return sorted(found, key=lambda info: (info.created_at, info.version))

    def publish(self, table: ScoreTable) -> Path:
        """Stamp ``table`` with its version id, write it, then make it latest.

        Returns the path of the new version file. Raises :class:`StoreWriteError` when any
        write fails, after removing what it wrote: the previous latest stays current.
        """
        with self.lock():
            taken = {info.version[:15] for info in self.versions()}
            version = version_id(table)
            if version[:15] in taken:
                version = version_id(table, precise=True)
            stamped = msgspec.structs.replace(table, version=version)
            data = encode_table(stamped)
            # msgspec writes NaN as null, which would make the file unreadable: refuse instead.
            decode_table(data, f"table to publish as {version}")
            target = self.path / f"{version}.json"
            try:
                atomic_write(target, data)
            except OSError as exc:
                raise StoreWriteError(f"{target}: cannot write: {_describe(exc)}") from None
            try:
                atomic_write(self.latest_path, data)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    target.unlink()
                raise StoreWriteError(
                    f"{self.latest_path}: cannot write: {_describe(exc)}; "
                    "the previous latest is unchanged"
                ) from None
            return target

    def rollback(self, version: str) -> ScoreTable:
        """Make an earlier version latest again (it is validated first) and return it."""
        with self.lock():
            table = self.read(version)
            try:
                atomic_write(self.latest_path, encode_table(table))
            except OSError as exc:
                raise StoreWriteError(
                    f"{self.latest_path}: cannot write: {_describe(exc)}"
                ) from None
            return table

    def prune(self, keep: int) -> list[str]:
        """Delete the oldest versions beyond the newest ``keep``; never the one latest holds.

        Returns the deleted version ids.
        """
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        with self.lock():
            versions = self.versions()
            doomed = [info for info in versions[:-keep] if not info.is_latest]
            for info in doomed:
                try:
                    info.path.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise StoreWriteError(f"{info.path}: cannot delete: {_describe(exc)}") from None
            return [info.version for info in doomed]
