"""The ``cityfed`` command: set up and serve a node, run workers; tokens, keys, the database."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import click

from cityfed import eventloop, heap
from cityfed.cli.common import config_option, configure_logging, settings_from, with_db
from cityfed.config import ConfigError, load_settings, write_settings
from cityfed.models.db import Database, open_database


@click.group()
@click.version_option(package_name="cityfed")
def main() -> None:
    """cityfed: a federation server for cities' projects and challenges."""


@main.command()
@click.option("--data-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--domain", required=True, help="host[:port] the node is reached at")
@click.option("--handle", required=True, help="the city actor's handle, e.g. berlin")
@click.option("--name", required=True, help='the city actor\'s display name, e.g. "City of Berlin"')
@click.option("--scheme", type=click.Choice(["https", "http"]), default="https", show_default=True)
@click.option(
    "--allow-private-addresses",
    is_flag=True,
    help="allow fetching loopback/private addresses (tests and local demos only)",
)
@click.option("--database-url", default=None, help="default: SQLite file in the data dir")
@click.option("--force", is_flag=True, help="use a data dir that already has a config")
def init(
    data_dir: Path,
    domain: str,
    handle: str,
    name: str,
    scheme: str,
    allow_private_addresses: bool,
    database_url: str | None,
    force: bool,
) -> None:
    """Create a node: config file, database, keys, the instance actor and the city actor."""
    from cityfed.actions import setup
    from cityfed.federation.urls import Urls
    from cityfed.models import actors as actor_queries
    from cityfed.models import migrate
    from cityfed.models.tokens import create_token

    config_file = data_dir / "cityfed.toml"
    if config_file.exists() and not force:
        raise click.ClickException(
            f"{config_file} exists already; pass --force to reuse the data dir "
            "(existing keys and actors are never overwritten)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "CITYFED_DOMAIN": domain,
        "CITYFED_SCHEME": scheme,
        "CITYFED_DATA_DIR": str(data_dir.resolve()),
        "CITYFED_ALLOW_PRIVATE_ADDRESSES": str(allow_private_addresses),
    }
    if database_url:
        env["CITYFED_DATABASE_URL"] = database_url
    try:
        settings = dataclasses.replace(load_settings(None, env=env), config_file=config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    urls = Urls(settings.base_url)

    async def work(db: Database) -> tuple[str, str | None]:
        await migrate.upgrade(db)
        async with db.transaction() as session:
            await setup.ensure_instance_actor(session, urls, settings.hostname, settings.domain)
            existing = await actor_queries.local_actor(session, handle.lower())
            token = None
            if existing is None:
                try:
                    actor = await setup.create_local_actor(
                        session, urls, settings.domain, handle, name
                    )
                except setup.SetupError as exc:
                    raise click.ClickException(str(exc)) from None
                token = await create_token(session, "init", "admin")
            else:
                actor = existing
            return actor.ap_id, token

    actor_id, token = with_db(settings, work)
    write_settings(settings, config_file)
    click.echo(f"config:  {config_file}")
    click.echo(f"city:    @{handle.lower()}@{settings.domain}  ({actor_id})")
    if token:
        click.echo(f"admin token (shown once): {token}")
    else:
        click.echo("the city existed already; keys and tokens were left as they were")
    base = settings.base_url
    click.echo(f"open:    {base}/@{handle.lower()}  (the city's public page)")
    click.echo(f"         {base}/api/v1/openapi.json  (the REST API; use the admin token)")
    click.echo(
        f"         {base}/staff/  (staff pages; first run: cityfed users create "
        f"--config {config_file} --email you@example.org --role admin)"
    )


@main.command()
@config_option
@click.option("--host", default=None, help="listen address (default from config)")
@click.option("--port", default=None, type=int, help="listen port (default from config)")
@click.option("--no-worker", is_flag=True, help="serve HTTP only; run `cityfed worker` separately")
def serve(config_path: Path, host: str | None, port: int | None, no_worker: bool) -> None:
    """Serve the node over HTTP (with its inbox and delivery workers unless --no-worker)."""
    from aiohttp import web

    from cityfed.app import create_app

    settings = settings_from(config_path)
    configure_logging(settings.log_level)
    app = create_app(settings, workers=not no_worker)
    listen_host = host or settings.listen_host
    listen_port = port or settings.listen_port
    click.echo(f"cityfed serving {settings.base_url} on http://{listen_host}:{listen_port}/")
    access_log = logging.getLogger("aiohttp.access") if settings.access_log else None
    heap.settle()
    web.run_app(
        app,
        host=listen_host,
        port=listen_port,
        print=None,
        access_log=access_log,
        loop=eventloop.new_event_loop(),
    )


@main.command()
@config_option
def worker(config_path: Path) -> None:
    """Run the inbox and delivery workers without a web server (scale-out, §9)."""
    import signal

    from cityfed.federation.runtime import run_worker_process
    from cityfed.federation.urls import Urls
    from cityfed.node import Node

    settings = settings_from(config_path)
    configure_logging(settings.log_level)

    async def run() -> None:
        node = Node(
            settings=settings, db=open_database(settings.database_url), urls=Urls(settings.base_url)
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker_process(node, stop)

    heap.settle()
    eventloop.run(run())


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@config_option
@click.option("--name", required=True, help="what the token is for, e.g. 'press office'")
@click.option(
    "--scope", type=click.Choice(["admin", "editor"]), default="editor", show_default=True
)
def token_create(config_path: Path, name: str, scope: str) -> None:
    """Create an API token and print it (only the token, once)."""
    from cityfed.models.tokens import create_token

    settings = settings_from(config_path)

    async def work(db: Database) -> str:
        async with db.transaction() as session:
            return await create_token(session, name, scope)

    click.echo(with_db(settings, work))


@main.group()
def keys() -> None:
    """The signing keys of our actors."""


@keys.command("rotate")
@config_option
@click.option("--handle", default=None, help="the local actor (default: every city of the node)")
@click.option(
    "--grace-days",
    default=7.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="how long the old key stays valid for verification",
)
def keys_rotate(config_path: Path, handle: str | None, grace_days: float) -> None:
    """New RSA and Ed25519 keys; followers learn them from an Update signed with the old key."""
    import getpass
    from datetime import timedelta

    from cityfed.actions.keys import RotationError, rotate
    from cityfed.federation.urls import Urls
    from cityfed.models import actors as actor_queries
    from cityfed.node import Node

    settings = settings_from(config_path)

    async def work(database: Database) -> list[tuple[str, str]]:
        node = Node(settings=settings, db=database, urls=Urls(settings.base_url))
        async with database.session() as session:
            if handle:
                found = await actor_queries.local_actor(session, handle)
                if found is None:
                    raise click.ClickException(f"no local actor @{handle}")
                targets = [found]
            else:
                targets = await actor_queries.local_actors(session)
        try:
            return [
                await rotate(
                    node, actor, who=f"cli:{getpass.getuser()}", grace=timedelta(days=grace_days)
                )
                for actor in targets
            ]
        except RotationError as exc:
            raise click.ClickException(str(exc)) from None

    for old, new in with_db(settings, work):
        click.echo(f"{old} -> {new}")


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path) -> None:
    """Apply pending migrations."""
    from cityfed.models import migrate

    settings = settings_from(config_path)

    async def work(database: Database) -> Any:
        await migrate.upgrade(database)
        return await migrate.current_revision(database)

    click.echo(f"database at revision {with_db(settings, work)}")
