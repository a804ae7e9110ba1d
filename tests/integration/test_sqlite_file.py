"""The SQLite file the node creates: WAL, full sync, 8 KB pages for a new file only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from cityfed.models.db import open_database


async def _pragmas(path: Path) -> dict[str, object]:
    db = open_database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        async with db.session() as session:
            return {
                name: (await session.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("page_size", "journal_mode", "synchronous")
            }
    finally:
        await db.dispose()


async def test_a_new_file_gets_8k_pages_wal_and_full_sync(tmp_path: Path) -> None:
    got = await _pragmas(tmp_path / "new.db")
    assert got == {"page_size": 8192, "journal_mode": "wal", "synchronous": 2}


async def test_an_existing_file_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE kept (x INTEGER)")
    assert (await _pragmas(path))["page_size"] == 4096
