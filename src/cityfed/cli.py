"""The ``cityfed`` command: set up a node, serve it, run workers, manage tokens and the database."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cityfed.config import ConfigError, Settings, load_settings, write_settings
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


def _settings(config_path: Path) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = open_database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


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

    actor_id, token = _with_db(settings, work)
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
    click.echo(f"         {base}/staff/  (staff pages; first run: cityfed users create "
               f"--config {config_file} --email you@example.org --role admin)")


@main.command()
@config_option
@click.option("--host", default=None, help="listen address (default from config)")
@click.option("--port", default=None, type=int, help="listen port (default from config)")
@click.option("--no-worker", is_flag=True, help="serve HTTP only; run `cityfed worker` separately")
def serve(config_path: Path, host: str | None, port: int | None, no_worker: bool) -> None:
    """Serve the node over HTTP (with its inbox and delivery workers unless --no-worker)."""
    from aiohttp import web

    from cityfed.app import create_app

    settings = _settings(config_path)
    _configure_logging(settings.log_level)
    app = create_app(settings, workers=not no_worker)
    listen_host = host or settings.listen_host
    listen_port = port or settings.listen_port
    click.echo(f"cityfed serving {settings.base_url} on http://{listen_host}:{listen_port}/")
    web.run_app(app, host=listen_host, port=listen_port, print=None)


@main.command()
@config_option
def worker(config_path: Path) -> None:
    """Run the inbox and delivery workers without a web server (scale-out, §9)."""
    import signal

    from cityfed.federation.runtime import run_worker_process
    from cityfed.federation.urls import Urls
    from cityfed.node import Node

    settings = _settings(config_path)
    _configure_logging(settings.log_level)

    async def run() -> None:
        node = Node(
            settings=settings, db=open_database(settings.database_url), urls=Urls(settings.base_url)
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker_process(node, stop)

    asyncio.run(run())


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

    settings = _settings(config_path)

    async def work(db: Database) -> str:
        async with db.transaction() as session:
            return await create_token(session, name, scope)

    click.echo(_with_db(settings, work))


@main.group()
def keys() -> None:
    """The signing keys of our actors."""


@keys.command("rotate")
@config_option
@click.option("--handle", default=None, help="the local actor (default: every city of the node)")
@click.option("--grace-days", default=7.0, show_default=True, type=click.FloatRange(min=0),
              help="how long the old key stays valid for verification")
def keys_rotate(config_path: Path, handle: str | None, grace_days: float) -> None:
    """New RSA and Ed25519 keys; followers learn them from an Update signed with the old key."""
    import getpass
    from datetime import timedelta

    from cityfed.actions.keys import RotationError, rotate
    from cityfed.federation.urls import Urls
    from cityfed.models import actors as actor_queries
    from cityfed.node import Node

    settings = _settings(config_path)

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
            return [await rotate(node, actor, who=f"cli:{getpass.getuser()}",
                                 grace=timedelta(days=grace_days)) for actor in targets]
        except RotationError as exc:
            raise click.ClickException(str(exc)) from None

    for old, new in _with_db(settings, work):
        click.echo(f"{old} -> {new}")


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path) -> None:
    """Apply pending migrations."""
    from cityfed.models import migrate

    settings = _settings(config_path)

    async def work(database: Database) -> Any:
        await migrate.upgrade(database)
        return await migrate.current_revision(database)

    click.echo(f"database at revision {_with_db(settings, work)}")


# --- peers, federation mode and the delivery queue (§7, §8): the same actions as the admin API ---


def _who() -> str:
    """The audit log's "who" for the CLI: the OS user running it."""
    import getpass

    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


def _with_node(settings: Settings, work: Callable[[Any], Awaitable[T]], *, http: bool = False) -> T:
    """Run ``work(node)`` against the node's database (and with an HTTP client if ``http``)."""
    import contextlib

    from cityfed.federation.runtime import client_session
    from cityfed.federation.urls import Urls
    from cityfed.node import Node

    async def run(db: Database) -> T:
        node = Node(settings=settings, db=db, urls=Urls(settings.base_url))
        async with client_session(node) if http else contextlib.nullcontext():
            return await work(node)

    return _with_db(settings, run)


@main.group()
def peers() -> None:
    """Peer policy: trust, allow or block other nodes' domains (host[:port])."""


@peers.command("list")
@config_option
@click.option("--refresh", is_flag=True, help="ask every peer that is not blocked for its software")
@click.option("--json", "as_json", is_flag=True, help="print JSON (as the admin API does)")
def peers_list(config_path: Path, refresh: bool, as_json: bool) -> None:
    """Known domains with policy, software, follows, failing deliveries and circuit state."""
    import orjson

    from cityfed.federation.nodeinfo_probe import refresh_software
    from cityfed.models import peers as peer_queries
    from cityfed.models.types import utcnow

    settings = _settings(config_path)

    async def work(node: Any) -> list[dict[str, Any]]:
        if refresh:
            async with node.db.session() as session:
                known = await peer_queries.overview(session)
            limit = asyncio.Semaphore(8)

            async def one(domain: str) -> None:
                async with limit:
                    await refresh_software(node, domain)

            await asyncio.gather(*(one(p.domain) for p in known if p.policy != "blocked"))
        async with node.db.session() as session:
            rows = await peer_queries.overview(session)
        now = utcnow()
        return [row.to_json(now) for row in rows]

    rows = _with_node(settings, work, http=refresh)
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        click.echo("no known peers")
        return
    header = ("DOMAIN", "POLICY", "SOFTWARE", "FOLLOWERS", "FOLLOWING", "FAILING", "LAST SUCCESS")
    table = [header] + [
        (
            row["domain"],
            row["policy"] or "-",
            row["software"] or "?",
            str(row["followers"]),
            str(row["following"]),
            str(row["failing"]),
            (row["last_success_at"] or "-")[:19],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line, row in zip(table, [None, *rows], strict=True):
        text = "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        if row is not None:
            extra = [] if row["circuit"] == "closed" else [f"circuit {row['circuit']}"]
            extra += [f"note: {row['note']}"] if row["note"] else []
            text += "  " + "; ".join(extra) if extra else ""
        click.echo(text.rstrip())


def _set_policy(config_path: Path, domain: str, policy: str | None, note: str | None) -> None:
    from cityfed.actions import peers as peer_actions

    settings = _settings(config_path)

    async def work(node: Any) -> Any:
        try:
            return await peer_actions.set_policy(node, domain, policy, note, _who())
        except peer_actions.PolicyError as exc:
            raise click.ClickException(str(exc)) from None

    change = _with_node(settings, work)
    message = f"{change.domain}: {change.policy or 'no policy'} (was {change.previous or 'none'})"
    if change.policy == "blocked":
        message += (
            f"; removed {change.follows_removed} follow(s),"
            f" cancelled {change.deliveries_cancelled} queued deliveries"
        )
    click.echo(message)


note_option = click.option("--note", default=None, help="why (kept in the audit log)")


@peers.command("trust")
@config_option
@click.argument("domain")
@note_option
def peers_trust(config_path: Path, domain: str, note: str | None) -> None:
    """Trust DOMAIN: its follows are accepted and its comments published at once."""
    _set_policy(config_path, domain, "trusted", note)


@peers.command("allow")
@config_option
@click.argument("domain")
@note_option
def peers_allow(config_path: Path, domain: str, note: str | None) -> None:
    """Allow DOMAIN to write to us in allowlist mode (follow, comment, adopt, offer)."""
    _set_policy(config_path, domain, "allowed", note)


@peers.command("block")
@config_option
@click.argument("domain")
@note_option
def peers_block(config_path: Path, domain: str, note: str | None) -> None:
    """Block DOMAIN: drop what it sends, send it nothing, remove its follows, hide its objects."""
    _set_policy(config_path, domain, "blocked", note)


@peers.command("remove")
@config_option
@click.argument("domain")
@note_option
def peers_remove(config_path: Path, domain: str, note: str | None) -> None:
    """Remove DOMAIN's policy (it is then treated like any unknown peer)."""
    _set_policy(config_path, domain, None, note)


@main.command("federation-mode")
@config_option
@click.argument("mode", required=False, type=click.Choice(["open", "allowlist"]))
def federation_mode(config_path: Path, mode: str | None) -> None:
    """Show the federation mode, or set it: open (all but blocked) or allowlist."""
    from cityfed.actions import peers as peer_actions

    settings = _settings(config_path)

    async def work(node: Any) -> str:
        if mode is None:
            return await peer_actions.federation_mode(node)
        previous = await peer_actions.set_federation_mode(node, mode, _who())
        return f"{mode} (was {previous})"

    click.echo(f"federation mode: {_with_node(settings, work)}")


@main.group()
def deliveries() -> None:
    """The outgoing delivery queue: see what is stuck, retry or drop dead deliveries."""


@deliveries.command("list")
@config_option
@click.option(
    "--state",
    type=click.Choice(["pending", "retrying", "dead"]),
    default=None,
    help="only deliveries in this state (default: all three)",
)
@click.option("--domain", default=None, help="only deliveries to this domain")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def deliveries_list(config_path: Path, state: str | None, domain: str | None, limit: int) -> None:
    """Queued and dead deliveries, oldest due first, after a per-domain summary."""
    from cityfed.models import peers as peer_queries
    from cityfed.models.peers import QUEUE_STATES, STATE_NAMES

    settings = _settings(config_path)
    states = [QUEUE_STATES[state]] if state else list(QUEUE_STATES.values())

    async def work(node: Any) -> tuple[Any, Any, int]:
        async with node.db.session() as session:
            summary = await peer_queries.delivery_summary(session)
            rows, total = await peer_queries.deliveries(session, states, domain=domain, limit=limit)
        return summary, rows, total

    summary, rows, total = _with_node(settings, work)
    for name, counts in summary.items():
        shown = ", ".join(f"{STATE_NAMES.get(s, s)} {n}" for s, n in sorted(counts.items()))
        click.echo(f"{name}: {shown}")
    if summary:
        click.echo("")
    for row, activity in rows:
        error = f"  {row.last_error}" if row.last_error else ""
        click.echo(
            f"{row.id}  {STATE_NAMES.get(row.state, row.state)}  attempts {row.attempts}  "
            f"{activity.type} -> {row.inbox}{error}"
        )
    click.echo(f"{len(rows)} of {total} deliveries shown")


def _dead_rows(config_path: Path, ids: tuple[int, ...], domain: str | None, *, retry: bool) -> int:
    from cityfed.actions import deliveries as delivery_actions

    settings = _settings(config_path)
    action = delivery_actions.retry if retry else delivery_actions.drop

    async def work(node: Any) -> int:
        try:
            return await action(node, _who(), ids=list(ids) or None, domain=domain)
        except delivery_actions.SelectionError as exc:
            raise click.ClickException(str(exc)) from None

    return _with_node(settings, work)


@deliveries.command("retry")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--domain", default=None, help="every dead delivery to this domain")
def deliveries_retry(config_path: Path, ids: tuple[int, ...], domain: str | None) -> None:
    """Send dead deliveries again (by IDS or --domain), starting their attempts afresh."""
    click.echo(f"{_dead_rows(config_path, ids, domain, retry=True)} dead deliveries due again")


@deliveries.command("drop")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--domain", default=None, help="every dead delivery to this domain")
def deliveries_drop(config_path: Path, ids: tuple[int, ...], domain: str | None) -> None:
    """Give dead deliveries up for good (by IDS or --domain)."""
    click.echo(f"{_dead_rows(config_path, ids, domain, retry=False)} dead deliveries dropped")


# --- staff accounts for the browser pages under /staff/ (the same actions as those pages) -------


@main.group()
def users() -> None:
    """Staff accounts that sign in at /staff/ (passwords hashed with argon2)."""


password_option = click.option(
    "--set-password",
    is_flag=True,
    help="type a password instead of getting a one-time password printed",
)


def _user_action(config_path: Path, work: Callable[[Any], Awaitable[T]]) -> T:
    from cityfed.actions.users import UserError

    async def guarded(node: Any) -> T:
        try:
            return await work(node)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None

    return _with_node(_settings(config_path), guarded)


def _prompt_password(set_password: bool) -> str | None:
    if not set_password:
        return None
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("create")
@config_option
@click.option("--email", required=True, help="the person's e-mail address (their sign-in name)")
@click.option("--role", type=click.Choice(["admin", "editor"]), default="editor", show_default=True)
@password_option
def users_create(config_path: Path, email: str, role: str, set_password: bool) -> None:
    """Create a staff account; prints a one-time password unless --set-password."""
    from cityfed.actions import users as user_actions

    password = _prompt_password(set_password)

    async def work(node: Any) -> Any:
        return await user_actions.create_user(node, email, role, who=_who(), password=password)

    user, one_time = _user_action(config_path, work)
    click.echo(f"created {user.role} {user.email}")
    if one_time:
        click.echo(f"one-time password (change it at first sign-in): {one_time}")


@users.command("list")
@config_option
def users_list(config_path: Path) -> None:
    """Staff accounts with their role and last sign-in."""
    from cityfed.actions import users as user_actions

    for user in _user_action(config_path, user_actions.list_users):
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        click.echo(f"{user.email}  {user.role}  last sign-in {last}")


@users.command("reset-password")
@config_option
@click.option("--email", required=True)
@password_option
def users_reset_password(config_path: Path, email: str, set_password: bool) -> None:
    """Give an account a new (one-time) password and sign it out everywhere."""
    from cityfed.actions import users as user_actions

    password = _prompt_password(set_password)

    async def work(node: Any) -> str | None:
        return await user_actions.reset_password(node, email, who=_who(), password=password)

    one_time = _user_action(config_path, work)
    click.echo(f"one-time password: {one_time}" if one_time else "password set")


@users.command("delete")
@config_option
@click.option("--email", required=True)
def users_delete(config_path: Path, email: str) -> None:
    """Delete a staff account (never the last admin)."""
    from cityfed.actions import users as user_actions

    async def work(node: Any) -> None:
        await user_actions.delete_user(node, email, who=_who())

    _user_action(config_path, work)
    click.echo(f"deleted {email.strip().lower()}")


if __name__ == "__main__":
    main()
