"""Hostile clients replayed against a real node (issue 14, items 3 and 12): figures, no assertions.

``python -m bench.hostile_clients`` serves one node (``cityfed serve --no-worker``, SQLite) and:

1. login flood: 150 concurrent wrong passwords on one staff account, production argon2; prints
   the answers by status, the server's CPU seconds and its RSS before and after (peak too).
2. slow clients: 500 connections dripping their headers and 500 dripping a POST body, a byte a
   second; prints how many the server still holds open after 30 s, and whether a normal request
   is answered meanwhile.

Not part of ``make bench`` (no ratio to a baseline): run it before and after a change.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import subprocess
import time
from collections.abc import AsyncIterator

import aiohttp

from bench import common

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
EMAIL = "staff@bench.example"


async def login_flood(base: str, server: common.Child, attempts: int = 150) -> str:
    """The login flood's figures, one line."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{base}/staff/login") as resp:
            found = _CSRF.search(await resp.text())
        csrf = found.group(1) if found else ""
        rss_before, cpu_before = server.rss_kib(), server.cpu()

        async def guess(i: int) -> int:
            data = {"email": EMAIL, "password": f"wrong guess {i}", "csrf": csrf}
            async with http.post(f"{base}/staff/login", data=data, allow_redirects=False) as resp:
                await resp.read()
                return resp.status

        started = time.monotonic()
        statuses = await asyncio.gather(*(guess(i) for i in range(attempts)))
        took = time.monotonic() - started
    await asyncio.sleep(1)
    counts = dict(sorted(collections.Counter(statuses).items()))
    return (
        f"login flood: {attempts} concurrent wrong passwords on one account in {took:.1f} s: "
        f"statuses {counts}; server CPU {server.cpu() - cpu_before:.1f} s; RSS "
        f"{rss_before // 1024} -> {server.rss_kib() // 1024} MiB "
        f"(peak {common.read_status(server.pid, 'VmHWM') // 1024} MiB)"
    )


async def _drip(port: int, head: bytes, stop: asyncio.Event) -> bool:
    """Drip a byte a second after ``head`` until ``stop``; True if still open at the end."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(head)
        await writer.drain()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            if reader.at_eof() or writer.is_closing():
                return False
            writer.write(b"a")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                if not await asyncio.wait_for(reader.read(4096), 0.01):
                    return False
        return not reader.at_eof()
    except (ConnectionError, OSError):
        return False
    finally:
        writer.close()


async def slow_clients(base: str, domain: str, port: int, each: int = 500) -> str:
    """The slow clients' figures, one line."""
    header_head = f"GET / HTTP/1.1\r\nHost: {domain}\r\nX-Slow: ".encode()
    body_head = (
        f"POST /inbox HTTP/1.1\r\nHost: {domain}\r\n"
        "Content-Type: application/activity+json\r\nContent-Length: 100000\r\n\r\n{"
    ).encode()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_drip(port, header_head, stop)) for _ in range(each)]
    tasks += [asyncio.create_task(_drip(port, body_head, stop)) for _ in range(each)]
    await asyncio.sleep(5)
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.get(f"{base}/.well-known/nodeinfo") as resp:
            normal = f"{resp.status} in {1000 * (time.monotonic() - started):.0f} ms"
    await asyncio.sleep(25)
    stop.set()
    still = await asyncio.gather(*tasks)
    return (
        f"slow clients: {each} dripping headers, {each} dripping bodies: after 30 s "
        f"{sum(still[:each])} and {sum(still[each:])} still open; a normal request meanwhile: "
        f"{normal}"
    )


@contextlib.asynccontextmanager
async def served_node(
    name: str = "hostile",
) -> AsyncIterator[tuple[common.NodeSetup, common.Child]]:
    """A ``cityfed serve --no-worker`` process (SQLite) with one staff account, ``EMAIL``."""
    with common.workdir(name) as where, common.children() as started:
        async with common.database("sqlite", where, name) as url:
            setup = await common.create_node(where / "node", url)
        create = ["users", "create", "--config", str(setup.config), "--email", EMAIL]
        await asyncio.to_thread(
            subprocess.run, common.cityfed_command(*create), check=True, capture_output=True
        )
        server = common.serve(setup, where, "server", core_set=None)
        started.append(server)
        await common.wait_port(setup.port, server)
        yield setup, server


async def main() -> None:
    async with served_node() as (setup, server):
        common.say(await login_flood(setup.base, server))
        common.say(await slow_clients(setup.base, setup.domain, setup.port))


if __name__ == "__main__":
    asyncio.run(main())
