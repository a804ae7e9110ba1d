"""The demo (`make demo`): three cities set up, seeded through actions/, signed in to, restarted."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cityfed import demo
from cityfed.models.tables import Follow, Object
from tests.integration import test_staff_auth as shared
from tests.integration.test_staff_auth import StaffClient

fast_hashing = shared.fast_hashing  # the fixture of test_staff_auth.py, used here too


def free_ports(count: int) -> int:
    """A base port with ``count`` free ports from it."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        try:
            sockets = []
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free ports")


async def counts(node, type_name: str) -> int:
    async with node.db.session() as session:
        query = select(func.count()).select_from(Object).where(Object.type == type_name)
        return await session.scalar(query) or 0


@pytest.mark.slow
async def test_demo_seeds_three_federating_cities(tmp_path: Path) -> None:
    import aiohttp

    base = free_ports(3)
    lines: list[str] = []
    async with demo.running(tmp_path, base) as cities:
        demo.banner(cities, lines.append)
        berlin, hamburg, barcelona = (cities.nodes[h] for h in ("berlin", "hamburg", "barcelona"))
        for node in cities.nodes.values():
            async with node.db.session() as session:
                states = set(await session.scalars(select(Follow.state)))
            assert states == {"accepted"}
        assert await counts(berlin, "Project") >= 2 + 2 + 1  # ours, Barcelona's, Hamburg's adoption
        assert await counts(berlin, "Note") == 3  # the thread on the sensor network
        assert await counts(barcelona, "Note") == 3  # forwarded by Berlin to its followers
        assert (
            await counts(barcelona, "Adoption") == 1 and await counts(berlin, "SolutionOffer") == 1
        )
        assert await counts(hamburg, "Challenge") == 2
        login = cities.logins[0]
        assert login.url == f"http://127.0.0.1:{base}/staff/"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:

            class Node:
                def url(self, path: str) -> str:
                    return f"http://127.0.0.1:{base}{path}"

            client = StaffClient(Node(), http)  # type: ignore[arg-type]
            assert (await client.login(login.email, login.password)).status == 303
            timeline = await client.get("/staff/")
            assert "Superblocks (Superilles)" in timeline.text and "Heat-risk map" in timeline.text
            items = await client.get("/staff/items")
            assert "Cooling schools in summer" in items.text
    assert any("sign in as   admin@berlin.example  password" in line for line in lines)
    # A second start serves the same data (no second seeding) with new passwords.
    async with demo.running(tmp_path, base + 100) as again:
        assert again.nodes["berlin"].settings.listen_port == base
        assert await counts(again.nodes["berlin"], "Note") == 3
        assert again.logins[0].password != login.password
