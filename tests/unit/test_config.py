from __future__ import annotations

from pathlib import Path

import pytest

from clarion.config import Settings


def test_defaults_and_environment() -> None:
    s = Settings.from_env({})
    assert s.host == "127.0.0.1" and s.max_receive_bytes >= 64 * 1024 * 1024
    s = Settings.from_env(
        {
            "CLARION_HOME": "/tmp/x",
            "CLARION_GRPC_PORT": "7000",
            "CLARION_FETCH_ALLOW_HOSTS": "Files.Local, other",
            "CLARION_MAX_RECEIVE_MB": "128",
        }
    )
    assert s.home == Path("/tmp/x") and s.grpc_port == 7000
    assert s.fetch_allow_hosts == {"files.local", "other"}
    assert s.max_receive_bytes == 128 * 1024 * 1024
    assert s.resolved_database_url == "sqlite:////tmp/x/registry.db"


def test_flags_override_environment_and_none_is_ignored() -> None:
    s = Settings.from_env({"CLARION_GRPC_PORT": "7000"}, grpc_port=0, rest_port=None)
    assert s.grpc_port == 0 and s.rest_port == 8000


def test_bad_numbers_name_the_variable() -> None:
    with pytest.raises(ValueError, match="CLARION_GRPC_PORT"):
        Settings.from_env({"CLARION_GRPC_PORT": "abc"})


def test_the_key_and_the_database_password_stay_out_of_the_settings_repr() -> None:
    settings = Settings.from_env(
        {
            "CLARION_PAT": "f" * 32,
            "CLARION_DATABASE_URL": "postgresql+psycopg://clarion:s3cret-pw@db/clarion",
        }
    )
    assert settings.bootstrap_pat == "f" * 32
    shown = repr(settings)
    assert "f" * 32 not in shown and "s3cret-pw" not in shown
    assert "home=" in shown
