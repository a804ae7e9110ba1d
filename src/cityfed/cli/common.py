"""What every `cityfed` command shares: the --config option, settings, a database, a node."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cityfed.config import ConfigError, Settings, load_settings
from cityfed.models.db import Database, open_database

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_path",
    envvar="CITYFED_CONFIG",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The node's cityfed.toml (or set CITYFED_CONFIG).",
)


def settings_from(config_path: Path) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = open_database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def who() -> str:
    """The audit log's "who" for the CLI: the OS user running it."""
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


def with_node(settings: Settings, work: Callable[[Any], Awaitable[T]], *, http: bool = False) -> T:
    """Run ``work(node)`` against the node's database (and with an HTTP client if ``http``)."""
    import contextlib

    from cityfed.federation.runtime import client_session
    from cityfed.node import Node
    from cityfed.urls import Urls

    async def run(db: Database) -> T:
        node = Node(settings=settings, db=db, urls=Urls(settings.base_url))
        async with client_session(node) if http else contextlib.nullcontext():
            return await work(node)

    return with_db(settings, run)
