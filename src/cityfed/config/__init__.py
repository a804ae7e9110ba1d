"""Node settings: a frozen dataclass read from a TOML file plus CITYFED_* environment overrides."""

from cityfed.config.settings import ConfigError, Settings, load_settings, write_settings

__all__ = ["ConfigError", "Settings", "load_settings", "write_settings"]
