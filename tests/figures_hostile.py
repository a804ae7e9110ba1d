"""Figures for issue 14 items 1, 2, 4, 7: the findings replayed against real nodes on loopback.

``python -m tests.figures_hostile`` prints one line per finding. Not a test (nothing is asserted)
and not a benchmark of speed: each figure is what a hostile, broken or unlucky origin costs us,
with the default limits (10 s fetch timeout, 3 redirects).
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.hostile import Origin, wait_for
from tests.rig import TestNode, running_node, settle, signed_post


def follow_of(a: TestNode, b: TestNode) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.base}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": a.actor_id,
        "object": b.actor_id,
    }


async def follow_delay(tmp: Path, hanging: int) -> float:
    """Item 1: how long an unrelated peer's Follow waits while one sender's objects hang."""
    origin = Origin()
    await origin.start()
    try:
        async with (
            running_node(tmp, "hamburg", workers=True) as b,
            running_node(tmp, "berlin") as a,
        ):
            # Together, so that they arrive in one group commit and are leased together.
            await asyncio.gather(
                *(origin.post(b, origin.create(f"{origin.base}/hang/{n}")) for n in range(hanging))
            )
            await wait_for(lambda: origin.open >= 1)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await signed_post(a, b, "/inbox", follow_of(a, b))

            async def followed() -> bool:
                return bool(await b.api("GET", "/followers"))

            await wait_for(followed, within=hanging * 10 + 30)
            return loop.time() - started
    finally:
        await origin.stop()


async def dripped(tmp: Path) -> int:
    """Item 2: the status of a valid POST whose actor document arrives in two pieces."""
    origin = Origin()
    await origin.start()
    origin.drip = True
    try:
        async with running_node(tmp, "hamburg") as b:
            return await origin.post(b, origin.follow(b))
    finally:
        await origin.stop()


async def after_503(tmp: Path) -> str:
    """Item 4: the state of a Create-by-reference whose origin answered 503 once."""
    from sqlalchemy import select

    from cityfed.models.tables import InboxItem

    origin = Origin()
    await origin.start()
    try:
        async with running_node(tmp, "hamburg") as b:
            project = origin.project("flaky")
            create = origin.create(project)
            await origin.post(b, create)

            async def unavailable() -> object:
                return web.json_response({"error": "busy"}, status=503)

            origin.once[project.removeprefix(origin.base)] = unavailable
            await settle(b)
            async with b.node.db.session() as session:
                item = await session.scalar(
                    select(InboxItem).where(InboxItem.activity_ap_id == create["id"])
                )
            return f"{item.state} ({item.error})"
    finally:
        await origin.stop()


async def requests_per_post(tmp: Path) -> tuple[int, int]:
    """Item 7: requests caused by one POST naming a redirecting key; by 10 more naming one that
    cannot be had."""
    origin = Origin()
    await origin.start()
    try:
        async with running_node(tmp, "hamburg") as b:
            other_id = f"{origin.base}/redirect/2/owners/o2"
            origin.docs["/keys/k"] = {
                "id": f"{origin.base}/keys/k",
                "owner": f"{origin.base}/redirect/2/owners/o",
                "publicKeyPem": origin.public_pem,
            }
            origin.docs["/owners/o"] = {**origin.actor_document(), "id": other_id}
            origin.docs["/owners/o2"] = {**origin.actor_document(), "id": other_id}
            await origin.post(b, origin.follow(b), key_id=f"{origin.base}/redirect/2/keys/k")
            one = len(origin.hits)
            origin.hits.clear()
            for _ in range(10):
                await origin.post(b, origin.follow(b), key_id=f"{origin.base}/missing/key")
            return one, len(origin.hits)
    finally:
        await origin.stop()


async def follow_during_flood(tmp: Path) -> tuple[float, float]:
    """Item 7: a first follow, its delivery and the Accept, while 150 POSTs name keys on thirty
    hanging hosts; and the same without the flood (another peer), for reference."""
    flood = Origin(extra_ports=29)
    await flood.start()
    attacker = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    posts: list[asyncio.Task[int]] = []
    try:
        async with (
            running_node(tmp, "hamburg") as b,
            running_node(tmp, "berlin") as a,
            running_node(tmp, "barcelona") as c,
        ):
            loop = asyncio.get_running_loop()
            started = loop.time()
            await b.api("POST", "/follows", json={"account": c.account}, status=201)
            await settle(c, b)
            quiet = loop.time() - started
            posts = [
                asyncio.create_task(
                    flood.post(
                        b,
                        flood.follow(b),
                        key_id=f"http://127.0.0.1:{port}/hang/{port}-{n}",
                        http=attacker,
                    )
                )
                for port in flood.ports
                for n in range(5)
            ]
            await wait_for(lambda: flood.open >= 30)
            await asyncio.sleep(0.5)
            started = loop.time()
            await b.api("POST", "/follows", json={"account": a.account}, status=201)
            await settle(a, b)
            return quiet, loop.time() - started
    finally:
        await flood.stop()
        await asyncio.gather(*posts, return_exceptions=True)
        await attacker.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"item 2: POST whose actor arrives in pieces: HTTP {await dripped(root / 'd')}")
        print(f"item 4: Create-by-reference after one 503: {await after_503(root / 'r')}")
        one, again = await requests_per_post(root / "k")
        print(f"item 7: one POST, redirecting key: {one} requests; 10 POSTs, missing key: {again}")
        quiet, took = await follow_during_flood(root / "f")
        print(
            f"item 7: first follow + delivery + Accept: {took:.2f} s during the flood,"
            f" {quiet:.2f} s without"
        )
        delay = await follow_delay(root / "h", hanging=10)
        print(f"item 1: unrelated Follow while 10 objects of one sender hang: {delay:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
