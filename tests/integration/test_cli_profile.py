"""`cityfed init --bio --field` and `cityfed profile show|set|verify` against a real database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from cityfed.cli import main
from cityfed.config import load_settings
from cityfed.models.db import open_database
from cityfed.models.tables import Activity, Media
from tests.media_support import encode, fake_png, picture


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def init(tmp_path: Path, *extra: str) -> Path:
    code, output = run(
        "init",
        "--data-dir",
        str(tmp_path / "data"),
        "--domain",
        "localhost:8080",
        "--scheme",
        "http",
        "--handle",
        "berlin",
        "--name",
        "City of Berlin",
        "--allow-private-addresses",
        *extra,
    )
    assert code == 0, output
    return tmp_path / "data" / "cityfed.toml"


def rows(config: Path, table: type) -> list:
    settings = load_settings(config, env={})

    async def read() -> list:
        db = open_database(settings.database_url)
        try:
            async with db.session() as session:
                return list(await session.scalars(select(table)))
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_init_takes_the_first_profile_and_profile_set_changes_it(tmp_path: Path) -> None:
    config = init(
        tmp_path,
        "--bio",
        "Open *smart city* projects.",
        "--field",
        "Phone=+49 30 1",
        "--field",
        "Open data=http://127.0.0.1:9/portal",
    )
    code, output = run("profile", "show", "--config", str(config), "--json")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["bio_html"] == "<p>Open <em>smart city</em> projects.</p>"
    assert [(f["name"], f["value"]) for f in shown["fields"]] == [
        ("Phone", "+49 30 1"),
        ("Open data", "http://127.0.0.1:9/portal"),
    ]

    avatar = tmp_path / "bear.png"
    avatar.write_bytes(encode(picture(500, 500), "PNG"))
    code, output = run(
        "profile",
        "set",
        "--config",
        str(config),
        "--display-name",
        "Land Berlin",
        "--field",
        "Website=http://127.0.0.1:9/",
        "--avatar",
        str(avatar),
        "--avatar-alt",
        "The bear",
    )
    assert code == 0, output
    assert "display name: Land Berlin" in output
    assert "Website = http://127.0.0.1:9/  [not verified]" in output  # nothing answers there
    assert "avatar: http://localhost:8080/media/" in output
    assert [m.alt_text for m in rows(config, Media)] == ["The bear"]
    # Each change queued an Update of the city for its followers (none yet, so no deliveries).
    updates = [a for a in rows(config, Activity) if a.type == "Update"]
    assert len(updates) == 2  # the avatar, then the name and fields
    assert json.loads(updates[-1].body)["object"]["name"] == "Land Berlin"
    assert json.loads(updates[-1].body)["object"]["icon"]["url"].startswith(
        "http://localhost:8080/media/"
    )
    code, output = run("profile", "verify", "--config", str(config))
    assert code == 0 and "[not verified]" in output


def test_bad_profile_input_is_refused_before_anything_changes(tmp_path: Path) -> None:
    code, output = run(
        "init",
        "--data-dir",
        str(tmp_path / "bad"),
        "--domain",
        "localhost:8080",
        "--handle",
        "berlin",
        "--name",
        "City of Berlin",
        "--field",
        "no equals sign",
    )
    assert code != 0 and "Name=value" in output
    assert not (tmp_path / "bad" / "cityfed.toml").exists()

    config = init(tmp_path)
    fake = tmp_path / "fake.png"
    fake.write_bytes(fake_png())
    code, output = run(
        "profile", "set", "--config", str(config), "--bio", "new", "--avatar", str(fake)
    )
    assert code != 0 and "image refused" in output
    assert rows(config, Media) == []
    code, output = run("profile", "show", "--config", str(config))
    assert "bio: (none)" in output  # the refused picture took the bio change with it
    nine = [arg for i in range(9) for arg in ("--field", f"F{i}=x")]
    code, output = run("profile", "set", "--config", str(config), *nine)
    assert code != 0 and "at most 8" in output
    code, output = run(
        "profile", "set", "--config", str(config), "--field", "A=1", "--clear-fields"
    )
    assert code != 0
