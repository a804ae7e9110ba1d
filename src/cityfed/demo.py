"""``make demo``: three cities (Berlin, Hamburg, Barcelona) federating on loopback.

Each city is a full node (its own SQLite database under ``demo-data/<city>``, its own port, web
server and workers) in this one process. On the first run the cities follow each other and are
seeded through ``cityfed.actions`` (the code paths staff use, never raw SQL): projects and
challenges, a comment thread, an adoption and a solution offer. Every run prints each city's
staff pages with a fresh staff password, and serves until Ctrl-C (SIGINT or SIGTERM).

    python -m cityfed.demo [--data-dir demo-data] [--base-port 8081]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from cityfed import demo_pictures
from cityfed.actions import adoptions as adoption_actions
from cityfed.actions import comments as comment_actions
from cityfed.actions import follows as follow_actions
from cityfed.actions import media as media_actions
from cityfed.actions import offers as offer_actions
from cityfed.actions import projects as project_actions
from cityfed.actions import setup
from cityfed.actions import users as user_actions
from cityfed.actions.project_fields import parse
from cityfed.app import create_app
from cityfed.appkeys import NODE
from cityfed.config import Settings, load_settings, write_settings
from cityfed.config.settings import default_database_url
from cityfed.demo_cities import CITIES, City
from cityfed.media.uploads import MediaLibrary
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models import migrate
from cityfed.models import queue as queue_queries
from cityfed.models.db import open_database
from cityfed.models.tables import Actor
from cityfed.node import Node
from cityfed.urls import Urls

log = logging.getLogger("cityfed.demo")

HOST = "127.0.0.1"
SETTLE_SECONDS = 60.0
DEMO_TOKEN = "demo (README examples)"


@dataclass
class Login:
    city: str
    url: str
    email: str
    password: str
    token: str = ""
    token_file: Path | None = None


@dataclass
class Demo:
    nodes: dict[str, Node] = field(default_factory=dict)
    logins: list[Login] = field(default_factory=list)


def _settings(data_dir: Path, index: int, city: City, base_port: int) -> Settings:
    """The city's settings: from its config file once written, so ids never change ports."""
    directory = data_dir / city.handle
    config = directory / "cityfed.toml"
    if config.exists():
        return load_settings(config, env={})
    directory.mkdir(parents=True, exist_ok=True)
    port = base_port + index
    settings = Settings(
        domain=f"{HOST}:{port}",
        data_dir=directory.resolve(),
        database_url=default_database_url(directory),
        scheme="http",
        allow_private_addresses=True,  # the three cities talk over loopback
        listen_host=HOST,
        listen_port=port,
        log_level="WARNING",
        config_file=config,
    )
    write_settings(settings, config)
    return load_settings(config, env={})


async def _prepare(settings: Settings, city: City) -> None:
    """Schema, instance actor and the city actor (what ``cityfed init`` does)."""
    urls = Urls(settings.base_url)
    db = open_database(settings.database_url)
    try:
        await migrate.upgrade(db)
        async with db.transaction() as session:
            await setup.ensure_instance_actor(session, urls, settings.hostname, settings.domain)
            if await actor_queries.local_actor(session, city.handle) is None:
                await setup.create_local_actor(
                    session,
                    urls,
                    settings.domain,
                    city.handle,
                    city.name,
                    summary=city.summary,
                    website=city.website,
                )
    finally:
        await db.dispose()


async def _city(node: Node, handle: str) -> Actor:
    async with node.db.session() as session:
        actor = await actor_queries.local_actor(session, handle)
    assert actor is not None
    return actor


async def _busy(node: Node) -> int:
    async with node.db.session() as session:
        return await queue_queries.count_due(session)


async def settled(nodes: list[Node]) -> None:
    """Wait until no node has deliveries or inbox items due (the workers run meanwhile)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    quiet = 0
    while quiet < 3:
        if time.monotonic() > deadline:
            raise TimeoutError("the demo cities did not settle; see the log above")
        busy = sum([await _busy(node) for node in nodes])
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.2)


async def _follow_all(demo: Demo) -> None:
    for city in CITIES:
        node = demo.nodes[city.handle]
        me = await _city(node, city.handle)
        for other in city.follows:
            target = await _city(demo.nodes[other], other)
            await follow_actions.follow(node, me, target.ap_id)
    await settled(list(demo.nodes.values()))
    for node in demo.nodes.values():
        async with node.db.session() as session:
            pending = await follow_queries.count_unanswered(session)
        if pending:
            raise RuntimeError("a demo follow was not accepted")


# The document Berlin shares in the demo's thread (issue 16: documents on comments).
SENSOR_CSV = (
    b"district,sensor,vendor,installed,battery_years\n"
    b"Mitte,underpass Invalidenstr.,A,2023-04,5\n"
    b"Neukoelln,drain Sonnenallee,B,2023-05,5\n"
    b"Pankow,underpass Bornholmer Str.,A,2023-06,5\n"
)


async def _add_logo(node: Node, city: City) -> None:
    """The city's logo, drawn by code, as its avatar (``icon``)."""
    me = await _city(node, city.handle)
    data, alt = demo_pictures.logo(city.name, city.name.removeprefix("City of ").strip())
    library = MediaLibrary.from_settings(node.settings, node.db)
    try:
        media = await library.upload_image(me.id, data, alt_text=alt)
        async with node.db.transaction() as session:
            shown = await media_actions.shown(session, node, media, "")
            await actor_queries.set_icon_url(session, me.id, shown.url)
    finally:
        await library.close()


async def _add_cover(node: Node, me: Actor, ap_id: str, title: str) -> None:
    """A cover picture drawn by code, uploaded and attached as staff would (issue 16)."""
    data, alt = demo_pictures.cover(title)
    library = MediaLibrary.from_settings(node.settings, node.db)
    try:
        media = await library.upload_image(me.id, data, alt_text=alt, focal_point=(0.0, 0.2))
        await media_actions.attach(node, me, ap_id, media.id, "cover")
    finally:
        await library.close()


async def seed(demo: Demo) -> None:
    """Follows, projects, challenges, a thread, an adoption and an offer, through actions/."""
    nodes = list(demo.nodes.values())
    for city in CITIES:  # before the follows: partners fetch the city with its logo
        await _add_logo(demo.nodes[city.handle], city)
    await _follow_all(demo)
    published: dict[str, str] = {}
    for city in CITIES:
        node = demo.nodes[city.handle]
        me = await _city(node, city.handle)
        for kind, body in city.items:
            row = await project_actions.publish(node, me, kind, parse(kind, body, partial=False))
            published[body["title"]] = row.ap_id
            await _add_cover(node, me, row.ap_id, body["title"])
    await settled(nodes)

    berlin, hamburg, barcelona = (demo.nodes[h] for h in ("berlin", "hamburg", "barcelona"))
    sensors = published["Heavy-rain sensor network"]
    question = await comment_actions.comment(
        hamburg,
        await _city(hamburg, "hamburg"),
        sensors,
        "Which sensors do you use in underpasses, and how long do the batteries last?",
    )
    await settled(nodes)
    berlin_city = await _city(berlin, "berlin")
    library = MediaLibrary.from_settings(berlin.settings, berlin.db)
    try:
        sensor_list = await library.upload_document(
            berlin_city.id,
            SENSOR_CSV,
            filename="rain-sensors-tender.csv",
            description="Sensors of the 2023 tender",
        )
    finally:
        await library.close()
    await comment_actions.comment(
        berlin,
        berlin_city,
        question.ap_id,
        "Pressure sensors from two vendors; both last about five years. Happy to share the "
        "tender documents! The sensor list is attached.",
        attachments=[sensor_list.id],
    )
    await comment_actions.comment(
        barcelona,
        await _city(barcelona, "barcelona"),
        sensors,
        "We are planning something similar for our rieras. Is the dashboard open source?",
    )
    await settled(nodes)
    await adoption_actions.adopt(
        hamburg,
        await _city(hamburg, "hamburg"),
        published["Superblocks (Superilles)"],
        {"status": "planned", "title": "Superblocks for Ottensen"},
    )
    await offer_actions.offer(
        barcelona,
        await _city(barcelona, "barcelona"),
        {
            "challenge": published["Cooling schools in summer"],
            "project": published["Climate shelters in schools"],
            "content": "Our climate shelters cool schoolyards with shade, water and plants; "
            "most measures are run by the schools themselves.",
        },
    )
    await settled(nodes)


async def _login(node: Node, city: City) -> Login:
    """The city's demo admin, with a new password every run (the old one is not printable)."""
    email = f"admin@{city.handle}.example"
    password = secrets.token_urlsafe(9)
    try:
        await user_actions.create_user(node, email, "admin", who="demo", password=password)
    except user_actions.UserError:
        await user_actions.reset_password(node, email, who="demo", password=password)
    token, token_file = await _api_token(node)
    return Login(city.name, f"{node.urls.base}/staff/", email, password, token, token_file)


async def _api_token(node: Node) -> tuple[str, Path]:
    """A new admin API token for the README's examples (the last run's is revoked), printed and
    kept in ``<data dir>/api-token`` so that ``$(cat demo-data/berlin/api-token)`` finds it."""
    for old in await user_actions.list_api_tokens(node):
        if old.name == DEMO_TOKEN and old.revoked_at is None:
            await user_actions.revoke_api_token(node, old.id, who="demo")
    token = await user_actions.create_api_token(node, DEMO_TOKEN, "admin", who="demo")
    path = node.settings.data_dir / "api-token"
    path.touch(mode=0o600)
    path.write_text(token + "\n", encoding="utf-8")
    return token, path


@contextlib.asynccontextmanager
async def running(data_dir: Path, base_port: int = 8081) -> AsyncIterator[Demo]:
    """Serve the three cities (seeded on first run) until the block ends."""
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before serving)
    demo = Demo()
    runners: list[web.AppRunner] = []
    try:
        for index, city in enumerate(CITIES):
            settings = _settings(data_dir, index, city, base_port)
            await _prepare(settings, city)
            app = create_app(settings)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
            demo.nodes[city.handle] = app[NODE]
        marker = data_dir / "seeded"
        if not marker.exists():
            await seed(demo)
            marker.write_text("seeded by cityfed.demo\n", encoding="utf-8")
        for city in CITIES:
            demo.logins.append(await _login(demo.nodes[city.handle], city))
        yield demo
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def banner(demo: Demo, out: Callable[[str], Any] = print) -> None:
    out("\ncityfed demo: three cities federating on loopback (Ctrl-C stops them)\n")
    for login in demo.logins:
        out(f"  {login.city}")
        out(f"    staff pages  {login.url}")
        out(f"    sign in as   {login.email}  password {login.password}")
        out(f"    public page  {login.url.removesuffix('/staff/')}/")
        out(f"    API token    {login.token}  (also in {login.token_file})")
        out(f"    REST API     {login.url.removesuffix('/staff/')}/api/cityfed/v1/openapi.json")
    out(
        "\nPasswords and API tokens are new on every start. To start over, stop the demo and "
        "delete its data dir."
    )


async def serve(data_dir: Path, base_port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print("starting Berlin, Hamburg and Barcelona (the first start seeds them, ~10 s)...")
    async with running(data_dir, base_port) as demo:
        banner(demo)
        await stop.wait()
        print("\nstopping the demo cities...")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m cityfed.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data-dir", type=Path, default=Path("demo-data"))
    parser.add_argument("--base-port", type=int, default=8081, help="ports N, N+1, N+2")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(serve(args.data_dir, args.base_port))
    except OSError as exc:  # typically a port in use
        raise SystemExit(f"cannot start the demo: {exc}") from None


if __name__ == "__main__":
    main()
