"""Settings from a TOML file, environment variables and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.settings import Scope, SettingsError, hash_key, load_settings


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(
        'tables = "from-file"\nmax_batch = 10\npublic_read = true\n'
        f'[[api_keys]]\nname = "ops"\nsha256 = "{hash_key("k")}"\nscopes = ["read", "admin"]\n'
    )
    settings = load_settings(config, environ={"RELIABILITY_MAX_BATCH": "20"})
    assert (settings.tables, settings.max_batch, settings.public_read) == ("from-file", 20, True)
    assert settings.api_keys[0].scopes == frozenset({Scope.READ, Scope.ADMIN})
    assert load_settings(config, environ={}, tables="cli").tables == "cli"


def test_keys_from_json_variable_or_keys_file(tmp_path: Path) -> None:
    keys = [{"name": "a", "sha256": hash_key("x")}]
    env = {"RELIABILITY_TABLES": "t", "RELIABILITY_API_KEYS": json.dumps(keys)}
    assert load_settings(environ=env).api_keys[0].name == "a"
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text(f'[[api_keys]]\nname = "b"\nsha256 = "{hash_key("y")}"\n')
    env["RELIABILITY_API_KEYS_FILE"] = str(keys_file)
    (key,) = load_settings(environ=env).api_keys
    assert (key.name, key.scopes) == ("b", frozenset({Scope.READ}))


def test_cors_origins_are_comma_separated() -> None:
    env = {"RELIABILITY_TABLES": "t", "RELIABILITY_CORS_ORIGINS": "https://a.org, https://b.org"}
    assert load_settings(environ=env).cors_origins == ("https://a.org", "https://b.org")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no table directory"),
        ({"RELIABILITY_TABLES": "t", "RELIABILITY_MAX_BATCH": "0"}, "$.max_batch"),
        ({"RELIABILITY_TABLES": "t", "RELIABILITY_RATE_LIMIT": "fast"}, "$.rate_limit"),
        ({"RELIABILITY_TABLES": "t", "RELIABILITY_API_KEYS": "[{"}, "RELIABILITY_API_KEYS"),
        (
            {"RELIABILITY_TABLES": "t", "RELIABILITY_API_KEYS": '[{"name": "a", "sha256": "k"}]'},
            "$.api_keys[0].sha256",
        ),
        (
            {"RELIABILITY_TABLES": "t", "RELIABILITY_API_KEYS_FILE": "/no/such/keys.toml"},
            "keys.toml",
        ),
    ],
)
def test_invalid_settings_name_their_source(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("$", r"\$").replace("[", r"\[")):
        load_settings(environ=env)


def test_unknown_file_keys_are_rejected(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('tables = "t"\nmax_bach = 3\n')
    with pytest.raises(SettingsError, match="max_bach"):
        load_settings(config, environ={})
