"""Inbox throughput: verified, durably stored activities per CPU-second and per second, one core.

A load generator (``bench.httpload``, its own process on the other core) sends N distinct,
pre-signed ``Create{Note}`` POSTs (about 2 KB, draft-cavage with real RSA-2048 keys of eight
remote cities the node already knows) to a ``cityfed serve --no-worker`` process pinned to one
core: it verifies each, stores it through the group commit and answers 202. Both inbox paths are
measured, the shared ``/inbox`` and the city's personal ``/actors/city/inbox`` (each with
requests signed for its path). The baseline is ``bench.bare_inbox`` on the same core with the
same requests: verification alone, nothing stored. After every round each 202 must have its row
in ``inbox_items``; the rows are then deleted so that every round starts from the same table.

Interleaved rounds and medians: node shared, bare shared, node personal, bare personal, then
the paths the other way round, ROUNDS times, both servers up throughout. A shared machine's load
comes and goes; a round of the node and the baseline's round next to it see about the same
machine. The headline is CPU per request of the serving process (from ``/proc``), which moves
far less with others' load than the wall-clock rate; every round also prints how busy both
cores were and how much of that was other processes (``common.MachineLoad``).

Runs on SQLite and, when CITYFED_BENCH_DATABASE_URL names a PostgreSQL server, on PostgreSQL.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

from bench import common
from bench.documents import Sender, make_senders, signed_inbox_requests
from bench.httpload import write_requests

DOMAIN = "city.bench.example"
CONCURRENCY = 50
SENDERS = 8
HANDLE = "city"
PATHS = {"shared": "/inbox", "personal": f"/actors/{HANDLE}/inbox"}
ROUNDS_ENV = "CITYFED_BENCH_ROUNDS"


def rounds() -> int:
    """Interleaved rounds per database: CITYFED_BENCH_ROUNDS, default 3 (odd: a true median)."""
    raw = os.environ.get(ROUNDS_ENV, "3")
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{ROUNDS_ENV} must be an integer, got {raw!r}") from None
    if not 1 <= value <= 15:
        raise SystemExit(f"{ROUNDS_ENV} must be in 1..15, got {raw!r}")
    return value


async def _load(
    port: int, requests_file: Path, tmp: Path, name: str, count: int, server: common.Child
) -> dict[str, Any]:
    """One measured phase against ``server``: the load result, its CPU and the machine's."""
    spec = common.write_json(
        tmp / f"{name}-load.json",
        {
            "port": port,
            "max_seconds": 60,
            "announce": True,
            "phases": [
                {
                    "name": name,
                    "file": str(requests_file),
                    "count": count,
                    "concurrency": CONCURRENCY,
                }
            ],
        },
    )
    machine = common.MachineLoad()
    with common.children() as kids:
        load = common.Child(
            f"{name}-load",
            common.bench_command("httpload", str(spec)),
            tmp,
            core_set={common.client_core()},
            stdout_pipe=True,
        )
        kids.append(load)
        await load.read_json(within=60)  # started and ready: from here on it is measured
        cpu, threads, load_cpu = server.cpu(), common.thread_cpu(server.pid), load.cpu()
        machine.start()
        result = dict(await load.read_json(within=90))
        server_cpu = server.cpu() - cpu
        ours = {
            common.server_core(): server_cpu,
            common.client_core(): result.get("cpu_s", load_cpu) - load_cpu,
        }
        result["load"] = machine.stop(ours)
        after = common.thread_cpu(server.pid)
    sent = max(result["sent"], 1)
    result["cpu_us"] = server_cpu / sent * 1e6
    result["threads"] = {
        name: us
        for name, seconds in after.items()
        if (us := round((seconds - threads.get(name, 0.0)) / sent * 1e6))
    }
    return result


async def _seed_senders(database_url: str, senders: list[Sender]) -> None:
    """The senders are known peers: their actors and keys are in the database already."""
    from cityfed.activitypub.actor import RemoteActor
    from cityfed.models import remote_actors
    from cityfed.models.db import open_database

    db = open_database(database_url)
    try:
        async with db.transaction() as session:
            for sender in senders:
                document = sender.actor_document()
                await remote_actors.upsert(session, RemoteActor.from_ap(document), document)
    finally:
        await db.dispose()


async def _stored(database_url: str) -> tuple[int, int]:
    from sqlalchemy import func, select

    from cityfed.models.db import open_database
    from cityfed.models.tables import InboxItem

    db = open_database(database_url)
    try:
        async with db.session() as session:
            rows = await session.scalar(select(func.count()).select_from(InboxItem)) or 0
            distinct = (
                await session.scalar(select(func.count(func.distinct(InboxItem.activity_ap_id))))
                or 0
            )
    finally:
        await db.dispose()
    return rows, distinct


async def _clear(database_url: str) -> None:
    """Delete the stored activities between rounds: every round starts from the same table."""
    from sqlalchemy import text

    from cityfed.models.db import open_database

    db = open_database(database_url)
    try:
        async with db.transaction() as session:
            if db.dialect == "postgresql":
                await session.execute(text("TRUNCATE inbox_items"))
            else:
                await session.execute(text("DELETE FROM inbox_items"))
    finally:
        await db.dispose()


def _describe(label: str, result: dict[str, Any]) -> None:
    common.say(
        f"{label}: {result['cpu_us']:.0f} us CPU per request, {result['rate']:.0f}/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"max {result['max_ms']:.1f} ms, statuses {result['statuses']}; "
        f"{common.describe_load(result['load'])}"
    )


def _median(results: list[dict[str, Any]], key: str) -> float:
    return statistics.median(result[key] for result in results)


async def _rounds(
    kind: str,
    senders: list[Sender],
    files: dict[str, Path],
    bare: tuple[common.Child, int],
    tmp: Path,
    count: int,
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """ROUNDS x (node, bare) per path on one database; every round's results by (who, path)."""
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    async with common.database(kind, tmp, f"inbox_{kind}") as url:
        setup = await common.create_node(tmp / f"node-{kind}", url, domain=DOMAIN, handle=HANDLE)
        await _seed_senders(url, senders)
        with common.children() as kids:
            server = common.serve(setup, tmp, f"node-{kind}", core_set={common.server_core()})
            kids.append(server)
            await common.wait_port(setup.port, server)
            spy = common.profile(server, tmp)
            if spy is not None:
                kids.insert(0, spy)
            for index in range(1, rounds() + 1):
                # The paths take turns going first: a machine getting busier during a round
                # must not always hit the same one.
                order = list(files.items())
                for path, requests_file in order if index % 2 else order[::-1]:
                    name = f"{kind}-{path}-{index}"
                    node = await _load(setup.port, requests_file, tmp, name, count, server)
                    node["rows"], node["distinct"] = await _stored(url)
                    await _clear(url)
                    _describe(f"round {index}, node on {kind}, {path} inbox", node)
                    accepted = node["statuses"].get("202", 0)
                    if accepted > node["distinct"]:
                        common.say(
                            f"WARNING {name}: {accepted} answered 202, only {node['distinct']} "
                            "stored: activities LOST"
                        )
                    elif accepted != count:
                        common.say(
                            f"WARNING {name}: {accepted} of {count} answered 202 (all of them "
                            f"stored), statuses {node['statuses']}"
                        )
                    samples.setdefault(("node", path), []).append(node)
                    baseline = await _load(
                        bare[1], requests_file, tmp, f"bare-{name}", count, bare[0]
                    )
                    _describe(f"round {index}, bare verifier, {path} inbox", baseline)
                    samples.setdefault(("bare", path), []).append(baseline)
            common.say(
                f"node on {kind}: CPU us per request by thread (last shared round) "
                f"{samples[('node', 'shared')][-1]['threads']}; RSS {server.rss_kib() / 1024:.0f} "
                "MiB; every 202 stored unless a WARNING above says otherwise"
            )
    return samples


async def run() -> list[str]:
    count = common.scaled(10_000, 200)
    lines: list[str] = []
    with common.workdir("inbox") as tmp:
        senders = make_senders(SENDERS)
        recipient = f"http://{DOMAIN}/actors/{HANDLE}"
        files: dict[str, Path] = {}
        for path, target in PATHS.items():
            requests = signed_inbox_requests(senders, count, DOMAIN, recipient, path=target)
            files[path] = tmp / f"requests-{path}.bin"
            write_requests(files[path], requests)
        sizes = sorted(len(r) for r in requests)
        del requests
        common.say(
            f"{count} signed Create{{Note}} requests per path and round, "
            f"{sizes[len(sizes) // 2]} bytes each (with headers), {SENDERS} senders, concurrency "
            f"{CONCURRENCY}; {rounds()} interleaved rounds (node, bare; shared, personal)"
        )
        kinds = ["sqlite"] + (["postgresql"] if common.pg_base_url() else [])
        if len(kinds) == 1:
            common.say(f"PostgreSQL skipped: set {common.PG_ENV} to run it")
        port = common.free_port()
        spec = common.write_json(
            tmp / "bare.json",
            {"port": port, "max_seconds": 1200, "keys": {s.key_id: s.public_pem for s in senders}},
        )
        with common.children() as kids:
            bare = common.Child(
                "bare-inbox",
                common.bench_command("bare_inbox", str(spec)),
                tmp,
                core_set={common.server_core()},
            )
            kids.append(bare)
            await common.wait_port(port, bare)
            spy = common.profile(bare, tmp)
            if spy is not None:
                kids.insert(0, spy)
            for kind in kinds:
                samples = await _rounds(kind, senders, files, (bare, port), tmp, count)
                lines += _summary(kind, samples)
    return lines


def _summary(kind: str, samples: dict[tuple[str, str], list[dict[str, Any]]]) -> list[str]:
    """Medians over the rounds; CPU per request first (the headline), then the rest."""
    lines: list[str] = []
    every = [result for results in samples.values() for result in results]
    others = sorted(result["load"]["server_others"] for result in every)
    steal = max(result["load"]["steal"] for result in every)
    common.say(
        f"{kind}: others' load on the server core during the {len(every)} phases: median "
        f"{statistics.median(others):.0%}, max {others[-1]:.0%}; steal up to {steal:.1%}"
    )
    medians: dict[tuple[str, str], dict[str, float]] = {
        key: {name: _median(results, name) for name in ("cpu_us", "rate", "p99_ms")}
        for key, results in samples.items()
    }
    for path in PATHS:
        node, bare = medians[("node", path)], medians[("bare", path)]
        suffix = "" if path == "shared" else f"_{path}"
        pairs = [
            b["cpu_us"] / n["cpu_us"]
            for n, b in zip(samples[("node", path)], samples[("bare", path)], strict=True)
        ]
        common.say(
            f"{kind}, {path} inbox, medians of {len(pairs)} rounds: {node['cpu_us']:.0f} us "
            f"CPU per request against the bare verifier's {bare['cpu_us']:.0f} us "
            f"({bare['cpu_us'] / node['cpu_us']:.2f}x; round by round "
            f"{', '.join(f'{pair:.2f}' for pair in pairs)}), {node['rate']:.0f}/s against "
            f"{bare['rate']:.0f}/s"
        )
        lines.append(
            common.bench_line(
                f"inbox_{kind}{suffix}_cpu",
                1e6 / node["cpu_us"],
                "activities/cpu-s",
                1e6 / bare["cpu_us"],
            )
        )
    shared, personal = medians[("node", "shared")], medians[("node", "personal")]
    lines.append(
        common.bench_line(
            f"inbox_{kind}_personal_vs_shared_cpu",
            1e6 / personal["cpu_us"],
            "activities/cpu-s",
            1e6 / shared["cpu_us"],
        )
    )
    for path in PATHS:
        node, bare = medians[("node", path)], medians[("bare", path)]
        suffix = "" if path == "shared" else f"_{path}"
        lines.append(
            common.bench_line(f"inbox_{kind}{suffix}", node["rate"], "activities/s", bare["rate"])
        )
        lines.append(
            common.bench_line(f"inbox_{kind}{suffix}_p99", node["p99_ms"], "ms", bare["p99_ms"])
        )
    lines.append(
        f"LOAD inbox_{kind}: others on the server core median {statistics.median(others):.0%} "
        f"max {others[-1]:.0%}, steal max {steal:.1%}"
    )
    return lines
