"""The one settings object: environment variables with command-line overrides on top."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATA_DIR = Path(".headrace")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_LOG_LEVEL = "info"
DATABASE_FILE_NAME = "headrace.db"
OWNER_TOKEN_FILE_NAME = "owner.token"
SECRET_KEY_FILE_NAME = "secret.key"
SECRET_KEY_BYTES = 32
"""AES-256-GCM: the key is 32 bytes, written as url-safe base64 (43 characters)."""

LOG_LEVELS = ("debug", "info", "warning", "error")

ENV_DATA_DIR = "HEADRACE_DATA_DIR"
ENV_HOST = "HEADRACE_HOST"
ENV_PORT = "HEADRACE_PORT"
ENV_DATABASE_URL = "HEADRACE_DATABASE_URL"
ENV_LOG_LEVEL = "HEADRACE_LOG_LEVEL"
ENV_SECRET_KEY = "HEADRACE_SECRET_KEY"
ENV_EGRESS_ALLOW = "HEADRACE_EGRESS_ALLOW"
ENV_RETRY_WINDOW_S = "HEADRACE_RETRY_WINDOW_S"
ENV_RETRY_BASE_S = "HEADRACE_RETRY_BASE_S"
ENV_RETRY_CAP_S = "HEADRACE_RETRY_CAP_S"
ENV_LEASE_S = "HEADRACE_LEASE_S"
ENV_DELIVERY_WORKERS = "HEADRACE_DELIVERY_WORKERS"
ENV_WEBHOOK_CONCURRENCY = "HEADRACE_WEBHOOK_CONCURRENCY"
ENV_PUBLIC_URL = "HEADRACE_PUBLIC_URL"
ENV_SOURCE_RETRY_ATTEMPTS = "HEADRACE_SOURCE_RETRY_ATTEMPTS"
ENV_SOURCE_RETRY_FIRST_MIN_S = "HEADRACE_SOURCE_RETRY_FIRST_MIN_S"
ENV_SOURCE_RETRY_FIRST_MAX_S = "HEADRACE_SOURCE_RETRY_FIRST_MAX_S"
ENV_SOURCE_RETRY_CAP_S = "HEADRACE_SOURCE_RETRY_CAP_S"
DEFAULT_DELIVERY_WORKERS = 2
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class ConfigError(ValueError):
    """A setting has a value headrace cannot use; the message is one sentence for users."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one headrace process.

    data_dir: where the SQLite database and the owner token live (default `./.headrace`).
    host, port: where the HTTP API listens (default 127.0.0.1:8080).
    database_url: a SQLAlchemy URL; None means SQLite at `data_dir/headrace.db`.
    log_level: one of debug, info, warning, error.
    secret_key: the key that encrypts sensitive settings, url-safe base64 of 32 bytes; None
        means the one generated once into `data_dir/secret.key`.
    egress_allow: host names and CIDRs that functions may reach even though they are
        private, loopback or link-local.
    retry_window_s, retry_base_s, retry_cap_s: the retry policy (seconds); None means the
        defaults in headrace.pipeline.retry.
    lease_s: how long a claimed pipeline job stays with its worker (seconds); None means
        the pipeline's default.
    delivery_workers: groups of one destination's jobs a pipeline process has in flight at
        most (default 2).
    webhook_concurrency: webhook requests one group of a destination's jobs keeps in
        flight at once (up to `delivery_workers` groups per destination); None means the
        pipeline's default.
    public_url: the base URL the world reaches this service at, for function sources'
        webhook URLs; None means `http://host:port`.
    source_retry_attempts, source_retry_first_min_s, source_retry_first_max_s,
        source_retry_cap_s: the retry policy of source functions' webhook requests (tries,
        seconds); None means the defaults in headrace.pipeline.retry.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str | None = None
    log_level: str = DEFAULT_LOG_LEVEL
    secret_key: str | None = field(default=None, repr=False)
    egress_allow: tuple[str, ...] = ()
    retry_window_s: float | None = None
    retry_base_s: float | None = None
    retry_cap_s: float | None = None
    lease_s: float | None = None
    delivery_workers: int = DEFAULT_DELIVERY_WORKERS
    webhook_concurrency: int | None = None
    public_url: str | None = None
    source_retry_attempts: int | None = None
    source_retry_first_min_s: float | None = None
    source_retry_first_max_s: float | None = None
    source_retry_cap_s: float | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where each setting came from (`default`, `env HEADRACE_…`, `option --…`), for doctor."""

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"The port must be between 1 and 65535, not {self.port}.")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"The log level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}."
            )
        if not self.host:
            raise ConfigError("The host must not be empty.")
        if self.secret_key is not None:
            decode_secret_key(self.secret_key)
        if self.public_url is not None:
            _check_public_url(self.public_url)

    @property
    def database_path(self) -> Path:
        return self.data_dir / DATABASE_FILE_NAME

    @property
    def owner_token_path(self) -> Path:
        return self.data_dir / OWNER_TOKEN_FILE_NAME

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / SECRET_KEY_FILE_NAME

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.database_path}"

    @property
    def effective_public_url(self) -> str:
        """The base of webhook URLs, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        # Listening on every interface says nothing about the name to reach it by.
        host = "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        data_dir: Path | str | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> Settings:
        """Settings from `env` (default: the process environment), then the given overrides."""
        env = os.environ if env is None else env
        sources: dict[str, str] = {}

        def pick(name: str, override: object, env_name: str) -> str | None:
            if override is not None:
                sources[name] = f"option --{name.replace('_', '-')}"
                return str(override)
            value = env.get(env_name)
            if value:
                sources[name] = f"env {env_name}"
                return value
            sources[name] = "default"
            return None

        raw_data_dir = pick("data_dir", data_dir, ENV_DATA_DIR)
        raw_host = pick("host", host, ENV_HOST)
        raw_port = pick("port", port, ENV_PORT)
        raw_url = pick("database_url", None, ENV_DATABASE_URL)
        raw_level = pick("log_level", None, ENV_LOG_LEVEL)
        raw_secret_key = pick("secret_key", None, ENV_SECRET_KEY)
        raw_egress = pick("egress_allow", None, ENV_EGRESS_ALLOW)
        seconds = {
            name: _parse_seconds(pick(name, None, env_name), env_name)
            for name, env_name in (
                ("retry_window_s", ENV_RETRY_WINDOW_S),
                ("retry_base_s", ENV_RETRY_BASE_S),
                ("retry_cap_s", ENV_RETRY_CAP_S),
                ("lease_s", ENV_LEASE_S),
                ("source_retry_first_min_s", ENV_SOURCE_RETRY_FIRST_MIN_S),
                ("source_retry_first_max_s", ENV_SOURCE_RETRY_FIRST_MAX_S),
                ("source_retry_cap_s", ENV_SOURCE_RETRY_CAP_S),
            )
        }
        raw_workers = pick("delivery_workers", None, ENV_DELIVERY_WORKERS)
        raw_concurrency = pick("webhook_concurrency", None, ENV_WEBHOOK_CONCURRENCY)
        raw_public_url = pick("public_url", None, ENV_PUBLIC_URL)
        raw_attempts = pick("source_retry_attempts", None, ENV_SOURCE_RETRY_ATTEMPTS)

        settings = cls(
            data_dir=Path(raw_data_dir) if raw_data_dir else DEFAULT_DATA_DIR,
            host=raw_host or DEFAULT_HOST,
            port=_parse_port(raw_port) if raw_port else DEFAULT_PORT,
            database_url=raw_url,
            log_level=(raw_level or DEFAULT_LOG_LEVEL).lower(),
            secret_key=raw_secret_key,
            egress_allow=_parse_list(raw_egress),
            delivery_workers=_parse_count(raw_workers, ENV_DELIVERY_WORKERS)
            if raw_workers
            else DEFAULT_DELIVERY_WORKERS,
            webhook_concurrency=_parse_count(raw_concurrency, ENV_WEBHOOK_CONCURRENCY)
            if raw_concurrency
            else None,
            retry_window_s=seconds["retry_window_s"],
            retry_base_s=seconds["retry_base_s"],
            retry_cap_s=seconds["retry_cap_s"],
            lease_s=seconds["lease_s"],
            public_url=raw_public_url,
            source_retry_attempts=_parse_count(raw_attempts, ENV_SOURCE_RETRY_ATTEMPTS)
            if raw_attempts
            else None,
            source_retry_first_min_s=seconds["source_retry_first_min_s"],
            source_retry_first_max_s=seconds["source_retry_first_max_s"],
            source_retry_cap_s=seconds["source_retry_cap_s"],
        )
        return replace(settings, sources=sources)

    def public_items(self) -> list[tuple[str, str, str]]:
        """(name, value, source) of each setting, with any password in the URL hidden and
        the secret key shown only as `set` or `generated`, never its value."""
        url = _hide_password(self.effective_database_url)
        if self.secret_key is not None:
            key_state = "set"
        elif self.secret_key_path.exists():
            key_state = f"generated ({self.secret_key_path})"
        else:
            key_state = f"generated into {self.secret_key_path} on first use"
        return [
            ("data_dir", str(self.data_dir), self.sources.get("data_dir", "default")),
            ("host", self.host, self.sources.get("host", "default")),
            ("port", str(self.port), self.sources.get("port", "default")),
            ("database_url", url, self.sources.get("database_url", "default")),
            ("log_level", self.log_level, self.sources.get("log_level", "default")),
            ("secret_key", key_state, self.sources.get("secret_key", "default")),
            (
                "egress_allow",
                ",".join(self.egress_allow) or "(none)",
                self.sources.get("egress_allow", "default"),
            ),
            *(
                (
                    name,
                    "(default)" if value is None else f"{value:g}",
                    self.sources.get(name, "default"),
                )
                for name, value in (
                    ("retry_window_s", self.retry_window_s),
                    ("retry_base_s", self.retry_base_s),
                    ("retry_cap_s", self.retry_cap_s),
                    ("lease_s", self.lease_s),
                    ("source_retry_first_min_s", self.source_retry_first_min_s),
                    ("source_retry_first_max_s", self.source_retry_first_max_s),
                    ("source_retry_cap_s", self.source_retry_cap_s),
                )
            ),
            (
                "delivery_workers",
                str(self.delivery_workers),
                self.sources.get("delivery_workers", "default"),
            ),
            (
                "webhook_concurrency",
                "(default)" if self.webhook_concurrency is None else str(self.webhook_concurrency),
                self.sources.get("webhook_concurrency", "default"),
            ),
            (
                "source_retry_attempts",
                "(default)"
                if self.source_retry_attempts is None
                else str(self.source_retry_attempts),
                self.sources.get("source_retry_attempts", "default"),
            ),
            ("public_url", self.effective_public_url, self.sources.get("public_url", "default")),
        ]


def _parse_port(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"The port must be a number, not {raw!r}.") from None


def _parse_seconds(raw: str | None, env_name: str) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{env_name} must be a positive number of seconds, not {raw!r}.")
    return value


def _parse_count(raw: str, env_name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{env_name} must be a whole number of at least 1, not {raw!r}.")
    return value


def _check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{ENV_PUBLIC_URL} must be an http or https URL such as "
            f"https://hooks.example.com, not {url!r}."
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{ENV_PUBLIC_URL} must not have a query or fragment, not {url!r}.")


def _parse_list(raw: str | None) -> tuple[str, ...]:
    return tuple(entry.strip() for entry in (raw or "").split(",") if entry.strip())


def decode_secret_key(text: str) -> bytes:
    """The 32 key bytes of url-safe base64 `text` (padding optional); ConfigError otherwise."""
    stripped = text.strip()
    try:
        key = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != SECRET_KEY_BYTES:
        raise ConfigError(
            f"{ENV_SECRET_KEY} must be {SECRET_KEY_BYTES} bytes in url-safe base64; make one "
            'with: python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return key


def _hide_password(url: str) -> str:
    # Imported here so that reading settings does not pull in SQLAlchemy.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"
