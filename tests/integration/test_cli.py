"""The cityfed command: init, token create, db upgrade, and a real `serve` answering WebFinger."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from cityfed.cli import main
from cityfed.config import load_settings
from cityfed.models import actors as actor_queries
from cityfed.models import migrate
from cityfed.models.db import open_database
from cityfed.models.tables import Key
from tests.rig import database_url, free_port


def init(tmp_path: Path, *extra: str, domain: str = "localhost:8080") -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--data-dir",
            str(tmp_path / "data"),
            "--domain",
            domain,
            "--scheme",
            "http",
            "--handle",
            "Berlin",
            "--name",
            "City of Berlin",
            "--allow-private-addresses",
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_init_creates_config_db_keys_and_prints_token(tmp_path: Path) -> None:
    code, output = init(tmp_path)
    assert code == 0, output
    assert "@berlin@localhost:8080" in output
    token = next(line.split(": ")[1] for line in output.splitlines() if "admin token" in line)
    assert token.startswith("cf_")
    settings = load_settings(tmp_path / "data" / "cityfed.toml", env={})
    assert settings.allow_private_addresses is True

    async def check() -> None:
        db = open_database(settings.database_url)
        async with db.session() as session:
            actor = await actor_queries.local_actor(session, "berlin")
            assert actor is not None and actor.type == "Organization"
            assert await actor_queries.instance_actor(session) is not None
            keys = (await session.execute(Key.__table__.select())).all()
        assert {k.kind for k in keys} == {"rsa", "ed25519"}
        assert await migrate.current_revision(db) == migrate.head_revision()
        await db.dispose()

    asyncio.run(check())


def test_init_refuses_existing_data_dir_and_never_overwrites_keys(tmp_path: Path) -> None:
    assert init(tmp_path)[0] == 0
    settings = load_settings(tmp_path / "data" / "cityfed.toml", env={})

    async def keys() -> list[str]:
        db = open_database(settings.database_url)
        async with db.session() as session:
            rows = await session.execute(Key.__table__.select())
            pems = sorted(row.public_pem for row in rows)
        await db.dispose()
        return pems

    before = asyncio.run(keys())
    code, output = init(tmp_path)
    assert code != 0 and "exists already" in output
    code, output = init(tmp_path, "--force")
    assert code == 0 and "left as they were" in output
    assert asyncio.run(keys()) == before


def test_init_rejects_bad_handle_and_domain(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--data-dir",
            str(tmp_path / "d"),
            "--domain",
            "bad domain",
            "--handle",
            "x",
            "--name",
            "X",
        ],
    )
    assert result.exit_code != 0 and "domain" in result.output
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--data-dir",
            str(tmp_path / "e"),
            "--domain",
            "x.example",
            "--handle",
            "no spaces",
            "--name",
            "X",
        ],
    )
    assert result.exit_code != 0 and "handle" in result.output


def test_token_create_prints_only_the_token(tmp_path: Path) -> None:
    assert init(tmp_path)[0] == 0
    config = str(tmp_path / "data" / "cityfed.toml")
    result = CliRunner().invoke(
        main, ["token", "create", "--config", config, "--name", "press", "--scope", "editor"]
    )
    assert result.exit_code == 0
    assert result.output.strip().startswith("cf_") and len(result.output.strip().split()) == 1
    result = CliRunner().invoke(
        main, ["token", "create", "--name", "x", "--scope", "root"], env={"CITYFED_CONFIG": config}
    )
    assert result.exit_code != 0


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    assert init(tmp_path)[0] == 0
    config = str(tmp_path / "data" / "cityfed.toml")
    for _ in range(2):
        result = CliRunner().invoke(main, ["db", "upgrade", "--config", config])
        assert result.exit_code == 0, result.output
        assert migrate.head_revision() in result.output


def test_bad_config_is_reported_by_name(tmp_path: Path) -> None:
    config = tmp_path / "cityfed.toml"
    config.write_text('[node]\ndomain = "x.example"\n[server]\nport = "eighty"\n')
    result = CliRunner().invoke(main, ["db", "upgrade", "--config", str(config)])
    assert result.exit_code != 0
    assert "[server] port" in result.output and str(config) in result.output


async def test_migrations_on_this_database(tmp_path: Path) -> None:
    """Upgrade an empty database to head and check every table exists (SQLite or PostgreSQL)."""
    async with database_url(tmp_path, "migrations", reuse=False) as url:
        db = open_database(url)
        await migrate.upgrade(db)
        await migrate.upgrade(db)  # a second run is a no-op
        assert await migrate.current_revision(db) == migrate.head_revision()
        async with db.write_engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
        await db.dispose()
    assert {
        "actors",
        "keys",
        "objects",
        "activities",
        "follows",
        "inbox_items",
        "deliveries",
        "peers",
        "api_tokens",
        "audit_log",
    } <= tables


@pytest.mark.parametrize("access_log", [False, True])
def test_serve_runs_a_node_that_answers(tmp_path: Path, access_log: bool) -> None:
    """The access log is off unless asked for (the reverse proxy keeps one)."""
    port = free_port()
    assert init(tmp_path, domain=f"127.0.0.1:{port}")[0] == 0
    config = tmp_path / "data" / "cityfed.toml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cityfed.cli",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CITYFED_ACCESS_LOG": "true" if access_log else "false"},
    )
    try:

        async def probe() -> dict:
            async with aiohttp.ClientSession() as http:
                for _ in range(600):  # a busy machine may take a while to start python
                    try:
                        url = (
                            f"http://127.0.0.1:{port}/.well-known/webfinger"
                            f"?resource=acct:berlin@127.0.0.1:{port}"
                        )
                        async with http.get(url) as resp:
                            return await resp.json(content_type=None)
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
            raise AssertionError("the node did not come up")

        doc = asyncio.run(probe())
        assert doc["links"][0]["href"] == f"http://127.0.0.1:{port}/actors/berlin"
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert ('"GET /.well-known/webfinger' in output.decode()) is access_log
    # Every start (a second `make run` too) says which city it serves and where to go.
    text = output.decode()
    assert f"@berlin@127.0.0.1:{port}" in text
    assert f"http://127.0.0.1:{port}/@berlin" in text
    assert f"http://127.0.0.1:{port}/staff/" in text and "cityfed users create" in text
