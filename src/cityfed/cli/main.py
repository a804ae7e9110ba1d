"""The ``cityfed`` command: set up and serve a node, run workers; tokens, keys, the database."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from cityfed import eventloop, heap
from cityfed.cli.common import config_option, configure_logging, settings_from, with_db
from cityfed.config import ConfigError, Settings, load_settings, write_settings
from cityfed.config.settings import parse_domain
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
@click.option("--bio", default=None, help="the city's bio, in Markdown")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="a profile field, e.g. 'Website=https://berlin.example' (repeat, up to 8)",
)
def init(
    data_dir: Path,
    domain: str,
    handle: str,
    name: str,
    scheme: str,
    allow_private_addresses: bool,
    database_url: str | None,
    force: bool,
    bio: str | None,
    fields: tuple[str, ...],
) -> None:
    """Create a node: config file, database, keys, the instance actor and the city actor
    (with its first profile: --bio, --field; `cityfed profile set` changes it later)."""
    from cityfed.actions import setup
    from cityfed.activitypub.profile import ProfileError, parse_field
    from cityfed.models import actors as actor_queries
    from cityfed.models import migrate
    from cityfed.models.tokens import create_token
    from cityfed.urls import Urls

    try:
        pairs = [parse_field(spec) for spec in fields]
    except ProfileError as exc:
        raise click.BadParameter(exc.message, param_hint="'--field'") from None
    config_file = data_dir / "cityfed.toml"
    if config_file.exists() and not force:
        raise click.ClickException(
            f"{config_file} exists already; pass --force to reuse the data dir "
            "(existing keys and actors are never overwritten)"
        )
    try:
        domain = parse_domain(domain)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--domain'") from None
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
                        session, urls, settings.domain, handle, name, summary=bio, fields=pairs
                    )
                except setup.SetupError as exc:
                    raise click.ClickException(str(exc)) from None
                token = await create_token(session, "init", "admin")
            else:
                actor = existing
            return actor.ap_id, token

    with _undone_on_failure(data_dir):
        actor_id, token = with_db(settings, work)
        write_settings(settings, config_file)
    click.echo(f"config:  {config_file}")
    click.echo(f"city:    @{handle.lower()}@{settings.domain}  ({actor_id})")
    if token:
        click.echo(f"admin token (shown once): {token}")
    else:
        click.echo("the city existed already; keys and tokens were left as they were")
    _where_to_go(settings, [handle.lower()])


@contextlib.contextmanager
def _undone_on_failure(data_dir: Path) -> Iterator[None]:
    """A failed init leaves no half-made data dir: what it created goes again (a dir that
    existed keeps what it had before)."""
    created = not data_dir.exists()
    before = set() if created else set(data_dir.iterdir())
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if created:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            for path in set(data_dir.iterdir()) - before:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        raise


def _where_to_go(settings: Settings, handles: list[str]) -> None:
    """The city's public page, the API and the staff pages: after init and at every start."""
    base = settings.base_url
    for handle in handles:
        click.echo(f"open:    {base}/@{handle}  (the public page of @{handle}@{settings.domain})")
    click.echo(f"         {base}/api/cityfed/v1/openapi.json  (the REST API; use the admin token)")
    config = settings.config_file or "FILE"
    click.echo(
        f"         {base}/staff/  (staff pages; to get an account: cityfed users create "
        f"--config {config} --email you@example.org --role admin)"
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
    listen_host = host or settings.listen_host
    listen_port = port or settings.listen_port
    # Bind before saying anything: a busy port is one clear line, not a claim and a traceback.
    sock = _listening_socket(listen_host, listen_port)
    cities = with_db(settings, _city_handles)
    configure_logging(settings.log_level)
    app = create_app(settings, workers=not no_worker)
    click.echo(f"cityfed serving {settings.base_url} on http://{listen_host}:{listen_port}/")
    for handle in cities:
        click.echo(f"city:    @{handle}@{settings.domain}")
    _where_to_go(settings, cities)
    access_log = logging.getLogger("aiohttp.access") if settings.access_log else None
    heap.settle()
    web.run_app(
        app,
        sock=sock,
        print=None,
        access_log=access_log,
        loop=eventloop.new_event_loop(),
    )


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening; a ClickException naming the port if not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=128)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror}") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            click.echo(f"port {port} is in use", err=True)
            raise SystemExit(1) from None
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(False)
    return sock


async def _city_handles(db: Database) -> list[str]:
    from cityfed.models import actors as actor_queries

    async with db.session() as session:
        return [actor.handle for actor in await actor_queries.local_actors(session)]


@main.command()
@config_option
def worker(config_path: Path) -> None:
    """Run the inbox and delivery workers without a web server (scale-out: several web processes
    with --no-worker and several workers sharing one PostgreSQL database)."""
    import signal

    from cityfed.federation.runtime import run_worker_process
    from cityfed.node import Node
    from cityfed.urls import Urls

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
    from cityfed.models import actors as actor_queries
    from cityfed.node import Node
    from cityfed.urls import Urls

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
