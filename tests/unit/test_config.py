"""Settings: TOML + environment, and errors that name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityfed.config import ConfigError, load_settings, write_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cityfed.toml"
    path.write_text(text)
    return path


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[node]\ndomain = "berlin.example"\n'), env={})
    assert settings.base_url == "https://berlin.example"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'cityfed.db'}"
    assert settings.allow_private_addresses is False
    assert settings.federation_mode == "open"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.data_dir == tmp_path
    assert settings.access_log is False


def test_access_log_can_be_turned_on(tmp_path: Path) -> None:
    path = write(tmp_path, '[node]\ndomain = "x.example"\n[logging]\naccess_log = true\n')
    assert load_settings(path, env={}).access_log is True
    assert load_settings(path, env={"CITYFED_ACCESS_LOG": "no"}).access_log is False


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[node]\ndomain = "berlin.example"\n[federation]\nmode = "open"\n')
    env = {
        "CITYFED_FEDERATION_MODE": "allowlist",
        "CITYFED_ALLOW_PRIVATE_ADDRESSES": "true",
        "CITYFED_DATABASE_URL": "postgresql+asyncpg://x@h/db",
        "CITYFED_PORT": "9000",
    }
    settings = load_settings(path, env=env)
    assert settings.federation_mode == "allowlist"
    assert settings.allow_private_addresses is True
    assert settings.database_url == "postgresql+asyncpg://x@h/db"
    assert settings.listen_port == 9000


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("", {}, "[node] domain is required"),
        ('[node]\ndomain = "https://x.example"\n', {}, "[node] domain"),
        ('[node]\ndomain = "x.example"\nscheme = "ftp"\n', {}, "[node] scheme"),
        ('[node]\ndomain = "x.example"\n[federation]\nmode = "closed"\n', {}, "[federation] mode"),
        ('[node]\ndomain = "x.example"\n[server]\nport = 70000\n', {}, "[server] port"),
        ('[node]\ndomain = "x.example"\n', {"CITYFED_PORT": "abc"}, "CITYFED_PORT"),
        (
            '[node]\ndomain = "x.example"\n',
            {"CITYFED_ALLOW_PRIVATE_ADDRESSES": "maybe"},
            "CITYFED_ALLOW_PRIVATE_ADDRESSES",
        ),
        ("[node\n", {}, "not valid TOML"),
        ("node = 3\n", {}, "[node] must be a table"),
    ],
)
def test_bad_values_name_key_and_source(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env=env)
    assert message in str(info.value)
    if not message.startswith("CITYFED_"):
        assert str(path) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    env = {
        "CITYFED_DOMAIN": "localhost:8080",
        "CITYFED_SCHEME": "http",
        "CITYFED_DATA_DIR": str(tmp_path),
        "CITYFED_ALLOW_PRIVATE_ADDRESSES": "1",
    }
    settings = load_settings(None, env=env)
    path = tmp_path / "cityfed.toml"
    write_settings(settings, path)
    again = load_settings(path, env={})
    assert again.base_url == "http://localhost:8080"
    assert again.allow_private_addresses is True
    assert again.database_url == settings.database_url
    assert "url" not in path.read_text()  # the default database follows the data dir


def test_relative_config_path_finds_the_database_next_to_it(tmp_path: Path, monkeypatch) -> None:
    """`make run` passes data/cityfed.toml relative to the checkout."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cityfed.toml").write_text('[node]\ndomain = "localhost:8080"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(Path("data/cityfed.toml"), env={})
    assert settings.data_dir == (tmp_path / "data").resolve()
    assert settings.database_url.endswith(f"{(tmp_path / 'data').resolve()}/cityfed.db")
    sub = tmp_path / "data" / "other.toml"
    sub.write_text('[node]\ndomain = "x.example"\ndata_dir = "state"\n')
    assert load_settings(Path("data/other.toml"), env={}).data_dir == (tmp_path / "data" / "state")
