"""Load, validate and write the node's settings.

Every value has one home in the TOML file (``[section] key``) and one ``CITYFED_*`` environment
override. A wrong or missing value fails at start with a message that names the key and the file, so
an admin never has to guess which line to fix.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_AUTHORITY = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?::[0-9]{1,5})?$|^\[[0-9a-f:]+\](?::[0-9]{1,5})?$"
)


class ConfigError(Exception):
    """A setting is missing or has a value we cannot use; the message names key and source."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a node needs to know at start. Immutable: pass it around, never patch it."""

    domain: str
    data_dir: Path
    database_url: str
    scheme: str = "https"
    federation_mode: str = "open"
    allow_private_addresses: bool = False
    authorized_fetch: bool = False
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    max_body_bytes: int = 1024 * 1024
    # Slow clients (issue 14): seconds a connection may take to send a request's headers (from
    # connecting, or from the previous answer on a kept-alive connection: aiohttp's keep-alive
    # timer) and, once they are in, its body. Then it is cut off.
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    fetch_timeout: float = 10.0
    fetch_max_bytes: int = 1024 * 1024
    fetch_max_redirects: int = 3
    signature_max_skew: int = 3600
    delivery_concurrency: int = 50
    delivery_per_host: int = 4
    delivery_max_attempts: int = 16
    inbox_concurrency: int = 8
    # On SIGTERM the workers finish what they hold for this long, then hand the rest back.
    shutdown_grace: float = 10.0
    # A domain failing (5xx, timeouts, refused) this long with no success in between is marked
    # unavailable: its deliveries are held, uncharged, until it answers again (§3 Outbound).
    # Shorter than the ~2.7 days of the attempt budget, so a held row never runs out of it.
    delivery_unavailable_days: float = 2.0
    delivery_probe_interval: float = 3600.0  # seconds between probes of an unavailable domain
    # A personal inbox answering 410 over at least this long, never 2xx in between, ends its
    # actor's follows; one 404 or 410 never does.
    delivery_gone_days: float = 7.0
    # Per sender domain at the inbox door (0: no limit); beyond them, 429 with Retry-After.
    inbox_sender_rate: float = 100.0  # requests per second, sustained
    inbox_sender_burst: int = 2000  # requests at once
    inbox_sender_bytes_rate: int = 2 * 1024 * 1024  # bytes per second, sustained
    inbox_sender_burst_bytes: int = 32 * 1024 * 1024
    # Bytes one sender domain may have stored and not yet processed.
    inbox_sender_backlog_bytes: int = 64 * 1024 * 1024
    # Retention (federation/housekeeping.py): processed inbox bodies are emptied after
    # inbox_body_days, their rows (the activity id, for deduplication) deleted after
    # inbox_dedup_days; finished deliveries are deleted after delivery_retention_days.
    inbox_body_days: float = 2.0
    inbox_dedup_days: float = 30.0
    delivery_retention_days: float = 14.0
    purge_interval: float = 600.0  # seconds between purges
    log_level: str = "INFO"
    # One line per HTTP request. Off by default: in production the reverse proxy keeps the access
    # log, and our own log already says what happened to each activity; a line per request costs
    # the inbox a large share of its CPU (figures in bench/README.md).
    access_log: bool = False
    # [media] (issue 16): upload limits, image sizes, storage backend, quota, remote image cache.
    media_storage: str = "files"
    media_max_image_bytes: int = 16 * 1024 * 1024
    media_max_image_pixels: int = 7680 * 4320  # Mastodon's MAX_MATRIX_LIMIT (8K UHD)
    media_max_document_bytes: int = 32 * 1024 * 1024
    media_image_sizes: tuple[int, ...] = (1920, 800, 400)
    media_image_formats: tuple[str, ...] = ("webp", "jpeg")
    media_keep_original: bool = False
    media_processing_concurrency: int = 2
    media_quota_bytes: int = 1024 * 1024 * 1024  # per local city; 0 = unlimited
    media_remote_cache_bytes: int = 512 * 1024 * 1024
    media_remote_max_bytes: int = 8 * 1024 * 1024
    media_s3_endpoint: str | None = None
    media_s3_bucket: str | None = None
    media_s3_region: str = "us-east-1"
    media_s3_access_key: str | None = None
    media_s3_secret_key: str | None = None
    media_s3_prefix: str = "media/"
    media_s3_public_url: str | None = None  # a CDN or public bucket URL; else we serve the files
    # [smtp] (issue 18.5): staff notification e-mail. No host: nothing is sent (mails stay queued).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls (implicit, port 465) | none
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str | None = None  # From:; default noreply@<domain's host>
    smtp_timeout: float = 30.0
    smtp_max_attempts: int = 10  # then the mail is marked failed (backoff doubles from a minute)
    smtp_poll_interval: float = 5.0  # seconds between looks at the mail queue
    config_file: Path | None = None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def hostname(self) -> str:
        """The domain without its port, as used in ``acct:`` handles' host part comparisons."""
        host = self.domain
        if host.startswith("["):
            return host[: host.index("]") + 1]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    result = int(value)
    if result < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return result


def _as_float(value: Any) -> float:
    result = float(value)
    if result <= 0:
        raise ValueError(f"expected a positive number, got {value!r}")
    return result


def _as_limit(value: Any) -> float:
    """A non-negative number; 0 switches the limit off."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    result = float(value)
    if result < 0:
        raise ValueError(f"expected a non-negative number, got {value!r}")
    return result


def _as_str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _as_str(value).lower()
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return text

    return parse


def _int_list(value: Any) -> tuple[int, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError(f"expected a list of positive integers, got {value!r}")
    result = tuple(_as_int(item) for item in items)
    if 0 in result:
        raise ValueError(f"expected a list of positive integers, got {value!r}")
    return result


def _choices(*allowed: str) -> Callable[[Any], tuple[str, ...]]:
    one = _choice(*allowed)

    def parse(value: Any) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            raise ValueError(f"expected a list of {', '.join(allowed)}, got {value!r}")
        return tuple(one(item) for item in items)

    return parse


def parse_domain(value: Any) -> str:
    """``host[:port]`` as the node's domain, lower-cased; ValueError says what is expected."""
    text = _as_str(value).lower()
    if "://" in text:
        scheme, _, rest = text.partition("://")
        raise ValueError(
            f"give the host name without {scheme}:// (like {rest.split('/')[0]!r}; the scheme is "
            f"a setting of its own), got {value!r}"
        )
    if "/" in text or not _AUTHORITY.match(text):
        raise ValueError(f"expected a host name with an optional :port (no scheme), got {value!r}")
    return text


def _port(value: Any) -> int:
    port = _as_int(value)
    if not 0 < port < 65536:
        raise ValueError(f"expected a TCP port, got {value!r}")
    return port


# field name -> (TOML section, TOML key, parser). The env override is CITYFED_<KEY upper>.
_FIELDS: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "domain": ("node", "domain", parse_domain),
    "scheme": ("node", "scheme", _choice("https", "http")),
    "data_dir": ("node", "data_dir", lambda v: Path(_as_str(v))),
    "database_url": ("database", "url", _as_str),
    "federation_mode": ("federation", "mode", _choice("open", "allowlist")),
    "allow_private_addresses": ("federation", "allow_private_addresses", _as_bool),
    "authorized_fetch": ("federation", "authorized_fetch", _as_bool),
    "signature_max_skew": ("federation", "signature_max_skew", _as_int),
    "listen_host": ("server", "host", _as_str),
    "listen_port": ("server", "port", _port),
    "max_body_bytes": ("limits", "max_body_bytes", _as_int),
    "header_timeout": ("limits", "header_timeout", _as_float),
    "body_timeout": ("limits", "body_timeout", _as_float),
    "fetch_timeout": ("limits", "fetch_timeout", _as_float),
    "fetch_max_bytes": ("limits", "fetch_max_bytes", _as_int),
    "fetch_max_redirects": ("limits", "fetch_max_redirects", _as_int),
    "delivery_concurrency": ("worker", "delivery_concurrency", _as_int),
    "delivery_per_host": ("worker", "delivery_per_host", _as_int),
    "delivery_max_attempts": ("worker", "delivery_max_attempts", _as_int),
    "inbox_concurrency": ("worker", "inbox_concurrency", _as_int),
    "shutdown_grace": ("worker", "shutdown_grace", _as_float),
    "delivery_unavailable_days": ("worker", "unavailable_days", _as_float),
    "delivery_probe_interval": ("worker", "probe_interval", _as_float),
    "delivery_gone_days": ("worker", "gone_days", _as_float),
    "inbox_sender_rate": ("limits", "inbox_sender_rate", _as_limit),
    "inbox_sender_burst": ("limits", "inbox_sender_burst", _as_int),
    "inbox_sender_bytes_rate": ("limits", "inbox_sender_bytes_rate", _as_int),
    "inbox_sender_burst_bytes": ("limits", "inbox_sender_burst_bytes", _as_int),
    "inbox_sender_backlog_bytes": ("limits", "inbox_sender_backlog_bytes", _as_int),
    "inbox_body_days": ("retention", "inbox_body_days", _as_float),
    "inbox_dedup_days": ("retention", "inbox_dedup_days", _as_float),
    "delivery_retention_days": ("retention", "delivery_days", _as_float),
    "purge_interval": ("retention", "purge_interval", _as_float),
    "log_level": ("logging", "level", _choice("debug", "info", "warning", "error")),
    "access_log": ("logging", "access_log", _as_bool),
    "media_storage": ("media", "storage", _choice("files", "s3")),
    "media_max_image_bytes": ("media", "max_image_bytes", _as_int),
    "media_max_image_pixels": ("media", "max_image_pixels", _as_int),
    "media_max_document_bytes": ("media", "max_document_bytes", _as_int),
    "media_image_sizes": ("media", "image_sizes", _int_list),
    "media_image_formats": ("media", "image_formats", _choices("webp", "jpeg", "avif")),
    "media_keep_original": ("media", "keep_original", _as_bool),
    "media_processing_concurrency": ("media", "processing_concurrency", _as_int),
    "media_quota_bytes": ("media", "quota_bytes", _as_int),
    "media_remote_cache_bytes": ("media", "remote_cache_bytes", _as_int),
    "media_remote_max_bytes": ("media", "remote_max_bytes", _as_int),
    "media_s3_endpoint": ("media", "s3_endpoint", _as_str),
    "media_s3_bucket": ("media", "s3_bucket", _as_str),
    "media_s3_region": ("media", "s3_region", _as_str),
    "media_s3_access_key": ("media", "s3_access_key", _as_str),
    "media_s3_secret_key": ("media", "s3_secret_key", _as_str),
    "media_s3_prefix": ("media", "s3_prefix", _as_str),
    "media_s3_public_url": ("media", "s3_public_url", _as_str),
    "smtp_host": ("smtp", "host", _as_str),
    "smtp_port": ("smtp", "port", _port),
    "smtp_security": ("smtp", "security", _choice("starttls", "tls", "none")),
    "smtp_username": ("smtp", "username", _as_str),
    "smtp_password": ("smtp", "password", _as_str),
    "smtp_sender": ("smtp", "sender", _as_str),
    "smtp_timeout": ("smtp", "timeout", _as_float),
    "smtp_max_attempts": ("smtp", "max_attempts", _as_int),
    "smtp_poll_interval": ("smtp", "poll_interval", _as_float),
}

_ENV_NAMES = {
    "database_url": "CITYFED_DATABASE_URL",
    "federation_mode": "CITYFED_FEDERATION_MODE",
    "listen_host": "CITYFED_HOST",
    "listen_port": "CITYFED_PORT",
    "log_level": "CITYFED_LOG_LEVEL",
}


def env_name(field: str) -> str:
    return _ENV_NAMES.get(field, "CITYFED_" + field.upper())


def default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'cityfed.db').resolve()}"


def load_settings(
    path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read ``path`` (may be None when the environment gives everything) and apply env overrides."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    source = "the environment"
    config_file: Path | None = None
    if path is not None:
        config_file = Path(path)
        source = str(config_file)
        try:
            with config_file.open("rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(
                f"config file {config_file} does not exist (run `cityfed init`)"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file}: not valid TOML: {exc}") from None

    values: dict[str, Any] = {}
    for field, (section, key, parse) in _FIELDS.items():
        name = env_name(field)
        if name in env:
            where, value = f"environment variable {name}", env[name]
        else:
            table = raw.get(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            if key not in table:
                continue
            where, value = f"{source}: [{section}] {key}", table[key]
        try:
            values[field] = parse(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: {exc}") from None

    if "domain" not in values:
        raise ConfigError(f"{source}: [node] domain is required (or set CITYFED_DOMAIN)")
    if "data_dir" not in values:
        # The config file lives in the data dir (``cityfed init`` puts it there).
        values["data_dir"] = (config_file.parent if config_file else Path.cwd()).resolve()
    elif not values["data_dir"].is_absolute():
        # A relative data_dir in a file is relative to that file, not to the current directory.
        base = config_file.parent if config_file is not None else Path.cwd()
        values["data_dir"] = (base / values["data_dir"]).resolve()
    values.setdefault("database_url", default_database_url(values["data_dir"]))
    values["log_level"] = values.get("log_level", "info").upper()
    if values.get("media_storage") == "s3" and "media_s3_bucket" not in values:
        raise ConfigError(f'{source}: [media] storage = "s3" needs [media] s3_bucket')
    if values.get("media_processing_concurrency") == 0:
        raise ConfigError(f"{source}: [media] processing_concurrency must be at least 1")
    return Settings(config_file=config_file, **values)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write_settings(settings: Settings, path: Path) -> None:
    """Write every field that differs from the defaults, grouped by section, to ``path``."""
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    sections: dict[str, list[str]] = {}
    for field, (section, key, _parse) in _FIELDS.items():
        value = getattr(settings, field)
        if field == "data_dir":
            continue  # the file lives in the data dir; keeping it implicit lets the dir move
        if field == "database_url" and value == default_database_url(settings.data_dir):
            continue  # likewise: the default follows the data dir
        default: object
        if field == "log_level":
            value, default = value.lower(), str(defaults[field]).lower()
        else:
            default = defaults.get(field)
        if field not in {"domain", "scheme"} and value == default:
            continue
        sections.setdefault(section, []).append(f"{key} = {_toml_value(value)}")
    body = "\n\n".join(f"[{name}]\n" + "\n".join(lines) for name, lines in sections.items())
    path.write_text(
        "# cityfed node settings; every key may be overridden by CITYFED_* env vars.\n\n"
        + body
        + "\n",
        encoding="utf-8",
    )
