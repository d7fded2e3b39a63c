"""Server settings, from a TOML file and ``RELIABILITY_*`` environment variables.

Environment variables override the file. Every setting is listed in ``docs/api.md``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

ENV_PREFIX = "RELIABILITY_"
#: Path of the TOML settings file, for processes started without a command line (workers).
CONFIG_ENV = "RELIABILITY_CONFIG"

Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]


class Scope(enum.StrEnum):
    READ = "read"
    ADMIN = "admin"


class ApiKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A client key, stored only as the SHA-256 hex digest of the key itself."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    sha256: Sha256Hex
    scopes: frozenset[Scope] = frozenset({Scope.READ})
    #: Requests per second for this key; ``None`` uses the server-wide ``rate_limit``.
    rate_limit: NonNegative | None = None


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the API needs to run. ``tables`` is the batch job's output directory."""

    tables: str
    api_keys: tuple[ApiKey, ...] = ()
    #: Serve ``read`` endpoints without a key (rate-limited per client IP).
    public_read: bool = False
    #: Sustained requests per second per key (or per IP when public); 0 turns limiting off.
    rate_limit: NonNegative = 20.0
    #: Requests a client may send at once before the sustained rate applies.
    rate_burst: PositiveInt = 40
    max_body_bytes: PositiveInt = 1_000_000
    max_fuse_reports: PositiveInt = 1000
    max_batch: PositiveInt = 1000
    #: Allowed CORS origins; empty (the default) sends no CORS headers at all.
    cors_origins: tuple[str, ...] = ()
    #: Seconds between checks of ``latest.json``; 0 turns polling off.
    reload_interval: NonNegative = 10.0
    #: A table older than this is reported as stale by ``/ready`` (it is still served).
    stale_days: NonNegative = 30.0


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names its source."""


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored in the settings.

    >>> hash_key("s3cret")[:12]
    '1ec1c26b50d5'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Merge the TOML file, the environment and explicit overrides (later wins).

    >>> env = {"RELIABILITY_TABLES": "tables", "RELIABILITY_MAX_BATCH": "50"}
    >>> load_settings(environ=env).max_batch
    50
    """
    values: dict[str, Any] = {}
    if config is not None:
        values.update(_read_file(config, "settings file"))
    env = os.environ if environ is None else environ
    values.update(_from_environment(env))
    values.update({name: value for name, value in overrides.items() if value is not None})
    if "tables" not in values:
        raise SettingsError(
            f"no table directory: pass --tables, set {ENV_PREFIX}TABLES or 'tables' in the file"
        )
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as error:
        # msgspec names the field as ``$.name``: say where such a field comes from.
        raise SettingsError(
            f"invalid setting: {error} (from {config or 'no file'} or {ENV_PREFIX}<NAME>)"
        ) from error


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(Settings):
        raw = env.get(ENV_PREFIX + field.name.upper())
        if raw is None:
            continue
        if field.name == "api_keys":
            values["api_keys"] = _parse_json(raw, f"{ENV_PREFIX}API_KEYS")
        elif field.name == "cors_origins":
            values["cors_origins"] = [origin.strip() for origin in raw.split(",") if origin.strip()]
        else:
            values[field.name] = raw
    keys_file = env.get(f"{ENV_PREFIX}API_KEYS_FILE")
    if keys_file:
        values["api_keys"] = _read_file(Path(keys_file), "API keys file").get("api_keys", [])
    return values


def _parse_json(raw: str, source: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise SettingsError(f"{source}: not valid JSON: {error}") from error


def _read_file(path: Path, role: str) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise SettingsError(f"{role} {path}: cannot be read: {error.strerror}") from error
    try:
        parsed = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise SettingsError(f"{role} {path}: {error}") from error
    if not isinstance(parsed, dict):
        raise SettingsError(f"{role} {path}: expected a table of settings at the top level")
    return parsed
