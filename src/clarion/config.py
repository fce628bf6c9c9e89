"""Settings, read once from ``CLARION_*`` environment variables and overridden by CLI flags.

Every variable is listed in the README's configuration table; :meth:`Settings.from_env`
is the only place that reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: The most inputs one predict request may carry (the Clarifai limit).
MAX_BATCH_INPUTS = 128
#: The most texts one embedding call may carry (the OpenAI limit); they run as several batches.
MAX_EMBED_INPUTS = 2048


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}.") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}.") from exc


def _names(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw).expanduser() if raw else None


@dataclass(frozen=True)
class Settings:
    """Everything a Clarion process needs to know about its environment.

    ``home`` holds the registry database, prepared model files and the local CLI credentials.
    Ports of 0 pick a free port (tests do this).
    """

    home: Path = field(default_factory=lambda: Path("~/.clarion").expanduser())
    #: Kept out of ``repr`` (logs, error messages): it may carry the database password.
    database_url: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    rest_port: int = 8000
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_receive_bytes: int = 64 * 1024 * 1024
    max_text_bytes: int = 1024 * 1024
    model_threads: int = 2
    shutdown_grace_s: float = 30.0
    fetch_timeout_s: float = 10.0
    fetch_max_bytes: int = 20 * 1024 * 1024
    fetch_allow_hosts: frozenset[str] = frozenset()
    max_image_pixels: int = 40_000_000
    max_request_pixels: int = 1_000_000_000
    decode_threads: int = 4
    image_batch_size: int = 32
    models_path: Path | None = None
    files_path: Path | None = None
    dynamic_batching: bool = True
    batch_max_size: int = 128
    batch_max_delay_ms: float = 5.0
    queue_size: int = 1024
    request_timeout_s: float = 120.0
    runner_timeout_s: float = 600.0
    load_wait_s: float = 60.0
    idle_unload_s: float = 0.0
    memory_budget_mb: int = 0
    preload: frozenset[str] = frozenset()
    cache_s: float = 1.0
    llm_threads: int = 0
    llm_queue_size: int = 0
    #: Kept out of ``repr``: a key.
    bootstrap_pat: str = field(default="", repr=False)
    key_rate: float = 0.0
    key_burst: int = 0
    key_max_generations: int = 0
    #: A Ray cluster to run the models on ("auto": the local Ray node's); empty: this process.
    ray_address: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``env`` (default ``os.environ``), then apply ``overrides``."""
        env = os.environ if env is None else env
        home = _path(env, "CLARION_HOME") or Path("~/.clarion").expanduser()
        allow = env.get("CLARION_FETCH_ALLOW_HOSTS", "")
        settings = cls(
            home=home,
            database_url=env.get("CLARION_DATABASE_URL", ""),
            host=env.get("CLARION_HOST", "127.0.0.1"),
            grpc_port=_int(env, "CLARION_GRPC_PORT", 50051),
            rest_port=_int(env, "CLARION_REST_PORT", 8000),
            tls_cert=_path(env, "CLARION_TLS_CERT"),
            tls_key=_path(env, "CLARION_TLS_KEY"),
            max_receive_bytes=_int(env, "CLARION_MAX_RECEIVE_MB", 64) * 1024 * 1024,
            max_text_bytes=_int(env, "CLARION_MAX_TEXT_BYTES", 1024 * 1024),
            model_threads=_int(env, "CLARION_MODEL_THREADS", 2),
            shutdown_grace_s=_float(env, "CLARION_SHUTDOWN_GRACE_S", 30.0),
            fetch_timeout_s=_float(env, "CLARION_FETCH_TIMEOUT_S", 10.0),
            fetch_max_bytes=_int(env, "CLARION_FETCH_MAX_MB", 20) * 1024 * 1024,
            fetch_allow_hosts=_names(allow.lower()),
            max_image_pixels=_int(env, "CLARION_MAX_IMAGE_PIXELS", 40_000_000),
            max_request_pixels=_int(env, "CLARION_MAX_REQUEST_PIXELS", 1_000_000_000),
            decode_threads=_int(env, "CLARION_DECODE_THREADS", 4),
            image_batch_size=_int(env, "CLARION_IMAGE_BATCH_SIZE", 32),
            models_path=_path(env, "CLARION_MODELS_DIR"),
            files_path=_path(env, "CLARION_FILES_DIR"),
            dynamic_batching=env.get("CLARION_DYNAMIC_BATCHING", "1") not in ("0", "false", "no"),
            batch_max_size=_int(env, "CLARION_BATCH_MAX_SIZE", 128),
            batch_max_delay_ms=_float(env, "CLARION_BATCH_MAX_DELAY_MS", 5.0),
            queue_size=_int(env, "CLARION_QUEUE_SIZE", 1024),
            request_timeout_s=_float(env, "CLARION_REQUEST_TIMEOUT_S", 120.0),
            runner_timeout_s=_float(env, "CLARION_RUNNER_TIMEOUT_S", 600.0),
            load_wait_s=_float(env, "CLARION_LOAD_WAIT_S", 60.0),
            idle_unload_s=_float(env, "CLARION_IDLE_UNLOAD_S", 0.0),
            memory_budget_mb=_int(env, "CLARION_MEMORY_BUDGET_MB", 0),
            preload=_names(env.get("CLARION_PRELOAD", "")),
            cache_s=_float(env, "CLARION_CACHE_S", 1.0),
            llm_threads=_int(env, "CLARION_LLM_THREADS", 0),
            llm_queue_size=_int(env, "CLARION_LLM_QUEUE_SIZE", 0),
            bootstrap_pat=env.get("CLARION_PAT", ""),
            key_rate=_float(env, "CLARION_KEY_RATE", 0.0),
            key_burst=_int(env, "CLARION_KEY_BURST", 0),
            key_max_generations=_int(env, "CLARION_KEY_MAX_GENERATIONS", 0),
            ray_address=env.get("CLARION_RAY_ADDRESS", ""),
        )
        overrides = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **overrides)

    @property
    def resolved_database_url(self) -> str:
        """The database URL: ``CLARION_DATABASE_URL`` or the SQLite file in the home dir."""
        return self.database_url or f"sqlite:///{self.home / 'registry.db'}"

    @property
    def models_dir(self) -> Path:
        """Where prepared model files (e.g. ONNX exports) live: ``CLARION_MODELS_DIR``."""
        return self.models_path or self.home / "models"

    @property
    def files_dir(self) -> Path:
        """Where stored input bytes, frozen dataset versions' files and trained artefacts
        live: ``CLARION_FILES_DIR`` (storage every front end of a cluster mounts at the same
        path) or the home dir."""
        return self.files_path or self.home

    @property
    def credentials_file(self) -> Path:
        """The local CLI's saved key (the client side; the server keeps only hashes)."""
        return self.home / "credentials"

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None
