"""Fan-out: one Create to 10,000 follower inboxes on 1,000 hosts, until every one is delivered.

The followers are remote actors with personal inboxes on ``bench.sinks``: one process listening
on 1,000 loopback ports, each port a distinct host (so the per-host limit applies per port), that
counts what arrives by (port, path) and verifies a sample of the signatures. A project is
published through the REST API of a ``cityfed serve --no-worker`` process, which enqueues one
delivery per inbox; then ``cityfed worker`` processes (1, and on PostgreSQL also 2, each pinned
to its own core) are started and deliver them. The rate is deliveries per second at the sinks,
from the first arrival to the last; every delivery must arrive exactly once and end ``done``.

Baseline: ``bench.fanout_client``, a bare aiohttp loop signing and POSTing the same body to the
same inboxes in the same order, at the same concurrency and per-host limit, with no database.

With two workers the question is whether the second adds a worker's worth: each worker's
deliveries (from its summary log lines) per CPU-second of its own, against the one worker's
figure in the same run. If that holds, what two workers reach in wall-clock time is bounded only
by the CPU left to them, which the lines also say (cores busy, and how much of it others took).
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import common, seed

CONCURRENCY = 50  # Settings.delivery_concurrency's default
PER_HOST = 4  # Settings.delivery_per_host's default
SAMPLE = 50  # the sinks verify every 50th signature
DELIVERED = re.compile(r": delivered to (\d+) inbox\(es\)")  # delivery_record's summary line


class Sinks:
    """The sinks process and its command channel."""

    def __init__(self, child: common.Child, ports: list[int]) -> None:
        self.child = child
        self.ports = ports

    @classmethod
    async def start(cls, tmp: Path, hosts: int, max_seconds: float) -> Sinks:
        child = common.Child(
            "sinks",
            common.bench_command("sinks", str(hosts), str(max_seconds)),
            tmp,
            stdin=True,
            stdout_pipe=True,
        )
        hello = await child.read_json(within=60)
        return cls(child, list(hello["ports"]))

    def inboxes(self, count: int) -> list[str]:
        per_host = max(1, count // len(self.ports))
        return [
            f"http://127.0.0.1:{self.ports[index // per_host % len(self.ports)]}"
            f"/users/u{index}/inbox"
            for index in range(count)
        ]

    def expect(self, count: int, timeout: float, key_pem: str | None) -> None:
        command = {"cmd": "expect", "count": count, "timeout": timeout, "sample": SAMPLE}
        if key_pem:
            command["key_pem"] = key_pem
        self.child.send(json.dumps(command))

    async def result(self, within: float) -> dict[str, Any]:
        return dict(await self.child.read_json(within))

    def pin(self, core_set: set[int] | None) -> None:
        common.pin(self.child.pid, core_set or set(common.cores()))


async def publish(setup: common.NodeSetup) -> tuple[str, float]:
    """POST a project through the API; (its id, seconds the request took)."""
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{setup.base}/api/cityfed/v1/projects",
            json=seed.PROJECT_FIELDS,
            headers={"Authorization": f"Bearer {setup.admin_token}"},
            timeout=aiohttp.ClientTimeout(total=120),
        ) as resp,
    ):
        body = await resp.json(content_type=None)
        if resp.status != 201:
            raise RuntimeError(f"publishing failed: {resp.status} {body}")
    return str(body["id"]), time.monotonic() - started


async def sender_key(database_url: str, handle: str) -> tuple[str, str, str]:
    """(private PEM, key id, public PEM) of the node's city actor."""
    from sqlalchemy import select

    from cityfed.models.db import open_database
    from cityfed.models.tables import Actor, Key

    db = open_database(database_url)
    try:
        async with db.session() as session:
            row = (
                await session.execute(
                    select(Key.private_pem, Key.key_id, Key.public_pem)
                    .join(Actor, Actor.id == Key.actor_id)
                    .where(Actor.local.is_(True), Actor.handle == handle, Key.kind == "rsa")
                )
            ).one()
    finally:
        await db.dispose()
    return str(row[0]), str(row[1]), str(row[2])


async def queued(database_url: str) -> tuple[bytes, list[str], dict[str, int]]:
    """The Create's body, its inboxes in delivery order, and the deliveries by state."""
    from sqlalchemy import func, select

    from cityfed.models.db import open_database
    from cityfed.models.tables import Activity, Delivery

    db = open_database(database_url)
    try:
        async with db.session() as session:
            body = await session.scalar(
                select(Activity.body).where(Activity.type == "Create").order_by(Activity.id)
            )
            inboxes = list(await session.scalars(select(Delivery.inbox).order_by(Delivery.id)))
            states = dict(
                (state, count)
                for state, count in await session.execute(
                    select(Delivery.state, func.count()).group_by(Delivery.state)
                )
            )
    finally:
        await db.dispose()
    return bytes(body or b""), inboxes, states


async def run_baseline(
    sinks: Sinks, tmp: Path, body: bytes, inboxes: list[str], key: tuple[str, str, str]
) -> dict[str, Any]:
    body_file = tmp / "create.json"
    body_file.write_bytes(body)
    spec = common.write_json(
        tmp / "fanout-client.json",
        {
            "body_file": str(body_file),
            "inboxes": inboxes,
            "key_pem": key[0],
            "key_id": key[1],
            "concurrency": CONCURRENCY,
            "per_host": PER_HOST,
            "max_seconds": 120,
        },
    )
    sinks.pin({common.client_core()})
    sinks.expect(len(inboxes), 150, key[2])
    with common.children() as kids:
        client = common.Child(
            "fanout-client",
            common.bench_command("fanout_client", str(spec)),
            tmp,
            core_set={common.server_core()},
            stdout_pipe=True,
        )
        kids.append(client)
        spy = common.profile(client, tmp)
        if spy is not None:
            kids.insert(0, spy)
        cpu = client.cpu()
        outcome = await client.read_json(within=180)
        cpu = client.cpu() - cpu
    seen = await sinks.result(within=180)
    return _rate(seen, len(inboxes), outcome=outcome, cpu=cpu)


async def run_workers(
    sinks: Sinks,
    setup: common.NodeSetup,
    tmp: Path,
    count: int,
    workers: int,
    key_pem: str,
    label: str,
) -> dict[str, Any]:
    available = common.cores()
    core_sets = [{available[index % len(available)]} for index in range(workers)]
    sinks.pin(None if workers > 1 else {common.client_core()})
    sinks.expect(count, 150, key_pem)
    started = time.monotonic()
    with common.children() as kids:
        procs = []
        for index in range(workers):
            child = common.worker(setup, tmp, f"{label}-worker{index}", core_set=core_sets[index])
            kids.append(child)
            procs.append(child)
            spy = common.profile(child, tmp)
            if spy is not None:
                kids.insert(0, spy)
        # CPU from the moment each is up (imports done), so start-up is not charged per delivery.
        ready = [await _ready_cpu(child) for child in procs]
        machine, sinks_cpu = common.machine_busy(), sinks.child.cpu()
        seen = await sinks.result(within=180)
        per_worker = [child.cpu() - at for child, at in zip(procs, ready, strict=True)]
        busy, now = common.machine_busy()
        sinks_cpu = sinks.child.cpu() - sinks_cpu
        await _wait_recorded(setup.database_url, 30)
        # The workers log each flush's deliveries per activity; one more moment for the last.
        await asyncio.sleep(0.5)
        delivered = [_delivered(child) for child in procs]
    cpu = sum(per_worker)
    result = _rate(seen, count, cpu=cpu, sinks_cpu=sinks_cpu)
    result["workers"] = [
        {"delivered": n, "cpu": c, "per_cpu_s": n / c if c else 0.0}
        for n, c in zip(delivered, per_worker, strict=True)
    ]
    result["others_cores"] = max(busy - machine[0] - cpu - sinks_cpu, 0.0) / max(
        now - machine[1], 1e-9
    )
    # How much of the machine was in use: with two workers on two cores, the sinks (and the
    # database server) take their share of the same cores, which bounds what two can reach.
    result["cores_busy"] = (busy - machine[0]) / max(now - machine[1], 1e-9)
    result["end_to_end"] = seen["last"] - started if seen["received"] else float("nan")
    return result


def _delivered(child: common.Child) -> int:
    """How many deliveries a worker recorded as done, from its summary lines."""
    text = child.stderr_path.read_text(errors="replace")
    return sum(int(count) for count in DELIVERED.findall(text))


async def _ready_cpu(child: common.Child) -> float:
    """The worker's CPU time when it logs that it runs (before its first batch)."""
    if common.log_level() not in ("debug", "info"):
        return 0.0  # the line is not logged: start-up stays in the figure
    await common.wait_log(child, "delivery worker started", within=60)
    return child.cpu()


async def _wait_recorded(database_url: str, within: float) -> None:
    """Until the workers have recorded every outcome (they record after the sinks answered)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        _, _, states = await queued(database_url)
        if states.get("done", 0) == sum(states.values()):
            return
        await asyncio.sleep(0.2)


def _rate(seen: dict[str, Any], expected: int, **extra: Any) -> dict[str, Any]:
    span = seen["last"] - seen["first"] if seen["received"] > 1 else float("nan")
    rate = (seen["received"] - 1) / span if span and span == span and span > 0 else 0.0
    return {**seen, "expected": expected, "span": span, "rate": rate, **extra}


def _describe(label: str, result: dict[str, Any]) -> None:
    cpu = result.get("cpu")
    cpu_text = f", {cpu / max(result['received'], 1) * 1e6:.0f} us CPU per delivery" if cpu else ""
    e2e = result.get("end_to_end")
    e2e_text = f", {e2e:.2f} s from worker start to last arrival" if e2e else ""
    if "cores_busy" in result:
        sinks_us = result["sinks_cpu"] / max(result["received"], 1) * 1e6
        e2e_text += (
            f"; {result['cores_busy']:.2f} of {len(common.cores())} cores busy meanwhile "
            f"({result['others_cores']:.2f} by processes other than the workers and sinks: "
            f"PostgreSQL, the API process, other work on the machine), "
            f"the sinks {sinks_us:.0f} us CPU per delivery"
        )
        for index, worker in enumerate(result["workers"]):
            e2e_text += (
                f"; worker {index}: {worker['delivered']} deliveries, "
                f"{worker['cpu'] / max(worker['delivered'], 1) * 1e6:.0f} us CPU each "
                f"({worker['per_cpu_s']:.0f}/cpu-s)"
            )
    common.say(
        f"{label}: {result['received']}/{result['expected']} arrived in {result['span']:.2f} s "
        f"= {result['rate']:.0f}/s{cpu_text}{e2e_text}; {result['duplicates']} duplicates, "
        f"{result['verified']} sampled signatures verified, failures {result['failed']}"
    )


async def run() -> list[str]:
    count = common.scaled(10_000, 200)
    hosts = max(1, min(common.scaled(1_000, 20), count))
    lines: list[str] = []
    plan: list[tuple[str, list[int]]] = [("sqlite", [1])]
    if common.pg_base_url():
        plan.append(("postgresql", [1, 2]))
    else:
        common.say(f"PostgreSQL skipped: set {common.PG_ENV} to run it (1 vs 2 workers)")
        plan = [("sqlite", [1, 2])]
    with common.workdir("fanout") as tmp, common.children() as kids:
        sinks = await Sinks.start(tmp, hosts, max_seconds=280)
        kids.append(sinks.child)
        inboxes = sinks.inboxes(count)
        common.say(
            f"{count} follower inboxes on {hosts} hosts; concurrency {CONCURRENCY}, "
            f"{PER_HOST} per host"
        )
        for kind, worker_counts in plan:
            async with common.database(kind, tmp, f"fanout_{kind}") as url:
                setup = await common.create_node(tmp / f"node-{kind}", url)
                await seed.add_followers(url, setup.handle, inboxes)
                with common.children() as web:
                    server = common.serve(setup, tmp, f"web-{kind}", core_set=None)
                    web.append(server)
                    await common.wait_port(setup.port, server)
                    _, took = await publish(setup)
                    body, order, states = await queued(url)
                    common.say(
                        f"{kind}: published; {states.get('pending', 0)} deliveries queued in "
                        f"{took:.2f} s (API call), body {len(body)} bytes"
                    )
                    key = await sender_key(url, setup.handle)
                    baseline = await run_baseline(sinks, tmp, body, order, key)
                    _describe(f"{kind}: baseline (bare client loop)", baseline)
                    by_count: dict[int, dict[str, Any]] = {}
                    for round_, workers in enumerate(worker_counts):
                        if round_:
                            await publish(setup)  # a second Create, to the same followers
                        result = await run_workers(
                            sinks, setup, tmp, len(order), workers, key[2], f"{kind}-{workers}w"
                        )
                        by_count[workers] = result
                        _, _, states = await queued(url)
                        _describe(f"{kind}: {workers} worker(s), states {states}", result)
                        if result["received"] != len(order) or result["duplicates"]:
                            common.say(f"WARNING {kind}/{workers}: not exactly once")
                        lines.append(
                            common.bench_line(
                                f"fanout_{kind}_{workers}w",
                                result["rate"],
                                "deliveries/s",
                                baseline["rate"],
                            )
                        )
                        # Deliveries per CPU-second of the worker processes (all of them):
                        # robust to a busy machine; the wall-clock line above is not.
                        lines.append(
                            common.bench_line(
                                f"fanout_{kind}_{workers}w_cpu",
                                result["received"] / result["cpu"] if result["cpu"] else 0.0,
                                "deliveries/cpu-s",
                                baseline["received"] / baseline["cpu"] if baseline["cpu"] else 0.0,
                            )
                        )
                    if 1 in by_count and 2 in by_count:
                        lines += _second_worker(kind, by_count[1], by_count[2])
    return lines


def _second_worker(kind: str, one: dict[str, Any], two: dict[str, Any]) -> list[str]:
    """Does the second worker add a worker's worth? Per-worker deliveries per CPU-second with two
    against one alone, and the wall-clock gain next to the CPU the two had."""
    alone = one["workers"][0]["per_cpu_s"]
    each = [worker["per_cpu_s"] for worker in two["workers"] if worker["delivered"]]
    shares = [worker["delivered"] for worker in two["workers"]]
    common.say(
        f"{kind}: one worker {alone:.0f} deliveries per CPU-second; with two, each "
        f"{', '.join(f'{value:.0f}' for value in each)} (shares {shares}); wall clock "
        f"{two['rate'] / one['rate'] if one['rate'] else float('nan'):.2f}x one worker, with "
        f"{two['cpu'] / two['span'] if two['span'] else float('nan'):.2f} cores of worker CPU "
        f"against {one['cpu'] / one['span'] if one['span'] else float('nan'):.2f}"
    )
    return [
        common.bench_line(
            f"fanout_{kind}_2w_per_worker_cpu",
            statistics.median(each) if each else 0.0,
            "deliveries/cpu-s",
            alone,
        ),
        common.bench_line(f"fanout_{kind}_2w_vs_1w", two["rate"], "deliveries/s", one["rate"]),
    ]
