"""Read path at 100k stored objects: outbox page, project page (HTML and JSON), timeline.

A SQLite node gets one project published through its API (the template), then in bulk: 10,000
followers (personal inboxes on ``bench.sinks``, used by the memory benchmark), 20,000 more of
its own projects, each with its ``Create`` in the outbox, and 80,000 projects of 100 cities it
follows (its timeline): 100,000 objects. ``cityfed serve`` (with its workers, the single-process
default) runs pinned to one core; a load generator on the other core sends one request at a time
(after a warm-up) and records each latency: p50 and p99 per page.

Baseline: ``bench.bare_static`` answering the outbox page's own bytes from memory (the floor of
an aiohttp GET here). The BENCH lines give each page's p99 against the baseline's p99.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import common, fanout, memory, seed
from bench.httpload import raw_request

AP = "application/activity+json"
REQUESTS = 400
WARMUP = 40


@dataclass
class BigNode:
    setup: common.NodeSetup
    local_ids: list[str]
    objects: int


async def build(tmp: Path, inboxes: list[str]) -> BigNode:
    """The node and its data (SQLite); nothing of it is running afterwards."""
    url = f"sqlite+aiosqlite:///{tmp / 'big.db'}"
    setup = await common.create_node(tmp / "big", url)
    with common.children() as kids:
        server = common.serve(setup, tmp, "big-setup", core_set=None)
        kids.append(server)
        await common.wait_port(setup.port, server)
        await fanout.publish(setup)  # the template, before there are followers
    total = common.scaled(100_000, 1_000)
    local = total // 5
    await seed.add_followers(url, setup.handle, inboxes)
    info = await seed.clone_objects(
        url, setup.handle, local=local - 1, remote=total - local, remote_authors=100
    )
    return BigNode(setup, list(info["local_ids"]), total)


def _requests(big: BigNode) -> dict[str, list[str]]:
    setup = big.setup
    host = setup.domain
    rng = random.Random(7)
    sample = rng.sample(big.local_ids, min(len(big.local_ids), 200))
    paths = [ap_id.split(host, 1)[1] for ap_id in sample]
    auth = {"Authorization": f"Bearer {setup.editor_token}", "Accept": "application/json"}

    def get(path: str, headers: dict[str, str]) -> str:
        return raw_request("GET", path, headers, host=host).decode("latin-1")

    return {
        "outbox": [get(f"/actors/{setup.handle}/outbox?page=1", {"Accept": AP})],
        "project_json": [get(path, {"Accept": AP}) for path in paths],
        "project_html": [get(path, {"Accept": "text/html"}) for path in paths],
        "timeline": [get("/api/cityfed/v1/timeline", auth)],
    }


async def _load(port: int, tmp: Path, name: str, phases: dict[str, list[str]]) -> dict[str, Any]:
    count = common.scaled(REQUESTS, 50)
    spec = common.write_json(
        tmp / f"{name}.json",
        {
            "port": port,
            "max_seconds": 120,
            "phases": [
                {"name": phase, "templates": templates, "count": count, "warmup": WARMUP}
                for phase, templates in phases.items()
            ],
        },
    )
    with common.children() as kids:
        load = common.Child(
            name,
            common.bench_command("httpload", str(spec)),
            tmp,
            core_set={common.client_core()},
            stdout_pipe=True,
        )
        kids.append(load)
        results = {}
        for _ in phases:
            result = await load.read_json(within=150)
            results[result["name"]] = result
    return results


async def _baseline(tmp: Path, outbox_bytes: bytes) -> dict[str, Any]:
    body = tmp / "outbox-page.json"
    body.write_bytes(outbox_bytes)
    port = common.free_port()
    spec = common.write_json(
        tmp / "bare-static.json",
        {"port": port, "max_seconds": 120, "routes": {"/outbox": [AP, str(body)]}},
    )
    with common.children() as kids:
        server = common.Child(
            "bare-static",
            common.bench_command("bare_static", str(spec)),
            tmp,
            core_set={common.server_core()},
        )
        kids.append(server)
        await common.wait_port(port, server)
        request = raw_request("GET", "/outbox", {"Accept": AP}, host=f"127.0.0.1:{port}")
        results = await _load(port, tmp, "bare-read", {"bare": [request.decode("latin-1")]})
    return results["bare"]


async def _fetch(url: str, headers: dict[str, str]) -> bytes:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        body = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {url}: {resp.status} {body[:300]!r}")
        return body


async def run() -> list[str]:
    lines: list[str] = []
    followers = common.scaled(10_000, 200)
    hosts = max(1, min(common.scaled(1_000, 20), followers))
    with common.workdir("read") as tmp, common.children() as kids:
        sinks = await fanout.Sinks.start(tmp, hosts, max_seconds=280)
        kids.append(sinks.child)
        big = await build(tmp, sinks.inboxes(followers))
        size = (tmp / "big.db").stat().st_size + _wal_size(tmp / "big.db")
        common.say(
            f"node with {big.objects} objects ({len(big.local_ids) + 1} own, each with its "
            f"Create), {followers} followers; SQLite file {size / 2**20:.0f} MiB"
        )
        setup = big.setup
        server = common.serve(setup, tmp, "big", core_set={common.server_core()}, workers=True)
        kids.append(server)
        await common.wait_port(setup.port, server)
        started_rss = server.rss_kib()
        outbox = await _fetch(f"{setup.base}/actors/{setup.handle}/outbox?page=1", {"Accept": AP})
        baseline = await _baseline(tmp, outbox)
        common.say(
            f"baseline (bare aiohttp, {len(outbox)} bytes): p50 {baseline['p50_ms']:.2f} ms, "
            f"p99 {baseline['p99_ms']:.2f} ms"
        )
        results = await _load(setup.port, tmp, "read", _requests(big))
        for name, result in results.items():
            common.say(
                f"{name}: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                f"max {result['max_ms']:.1f} ms, statuses {result['statuses']}"
            )
            if set(result["statuses"]) != {"200"}:
                common.say(f"WARNING {name}: not every answer was 200")
        for name, result in results.items():
            lines.append(
                common.bench_line(f"read_{name}_p99", result["p99_ms"], "ms", baseline["p99_ms"])
            )
        lines += await memory.measure(server, setup, sinks, followers, started_rss)
    return lines


def _wal_size(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0
