"""The inbox comparison in instructions per request (callgrind): a figure that load cannot move.

``python -m bench instructions`` (not part of the default run: it needs ``valgrind`` and takes a
few minutes). The node (``cityfed serve --no-worker`` on SQLite) and the bare verifier run under
``valgrind --tool=callgrind`` with instrumentation off; each gets a warm-up phase (keys cached,
code paths compiled), then instrumentation is switched on with ``callgrind_control`` for exactly
one phase of distinct signed requests, and the counters are dumped. Instructions executed (all
threads of the process: the event loop, aiosqlite's thread, the kernel's share excepted) divided
by the requests answered is the figure; the ratio bare/node is what ``inbox_*_cpu`` estimates from
CPU time, without the noise of a shared machine (caches, steal, frequency).

Caveats: valgrind runs the threads of a process one at a time and everything some 50 times
slower, so the group commit sees other batch sizes than at full speed, and work done every few
seconds (the policy view's reload) weighs about 50 times more per request; how long a phase
takes under valgrind depends on the machine's load, so the node's count moves by a percent or
two from run to run (the bare verifier's, which has no such work, by about 0.2 %). An
instruction is not a fixed amount of time (an RSA multiplication and a bytecode dispatch are
one each), so this is a yardstick for A/B comparisons and for the ratio, not a latency.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import common
from bench.documents import make_senders, signed_inbox_requests
from bench.httpload import write_requests
from bench.inbox import DOMAIN, HANDLE, PATHS, SENDERS, _clear, _seed_senders, _stored

CONCURRENCY = 50
KEEP_ENV = "CITYFED_BENCH_CALLGRIND_DIR"
_TOTALS = re.compile(rb"^summary:\s+(\d+)", re.MULTILINE)


def _valgrind(name: str, command: list[str], tmp: Path) -> tuple[list[str], Path]:
    out = tmp / f"{name}.callgrind"
    prefix = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        "--dump-instr=no",
        "--compress-strings=no",
    ]
    return prefix + command, out


def _control(pid: int, *args: str) -> None:
    subprocess.run(
        ["callgrind_control", *args, str(pid)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


def _instructions(out: Path, label: str) -> int:
    """Instructions in the dumps of ``out`` (callgrind numbers each dump ``out.N``).

    With CITYFED_BENCH_CALLGRIND_DIR set the dumps are kept there as ``<label>.callgrind``, for
    ``callgrind_annotate`` (C functions: how much is OpenSSL, SQLite, the interpreter).
    """
    keep = os.environ.get(KEEP_ENV)
    total = 0
    for index, dump in enumerate(sorted(out.parent.glob(out.name + ".*"))):
        total += sum(int(found) for found in _TOTALS.findall(dump.read_bytes()))
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.move(dump, Path(keep) / f"{label}{'-' + str(index) if index else ''}.callgrind")
        else:
            dump.unlink()
    return total


async def _phase(
    port: int, requests_file: Path, tmp: Path, name: str, count: int
) -> dict[str, Any]:
    spec = common.write_json(
        tmp / f"{name}.json",
        {
            "port": port,
            "max_seconds": 1200,
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
    with common.children() as kids:
        load = common.Child(
            f"{name}-load",
            common.bench_command("httpload", str(spec)),
            tmp,
            core_set={common.client_core()},
            stdout_pipe=True,
        )
        kids.append(load)
        return dict(await load.read_json(within=1200))


async def _measure(
    child: common.Child,
    out: Path,
    port: int,
    files: dict[str, Path],
    tmp: Path,
    count: int,
    after: Callable[[str], Awaitable[None]] | None = None,
) -> dict[str, int]:
    """Instructions per answered request, per path, for the process ``child``."""
    per_path: dict[str, int] = {}
    for path in PATHS:
        await _phase(port, files[f"{path}-warm"], tmp, f"{child.name}-{path}-warm", count // 4)
        await asyncio.to_thread(_control, child.pid, "--zero")
        await asyncio.to_thread(_control, child.pid, "--instr=on")
        result = await _phase(port, files[path], tmp, f"{child.name}-{path}", count)
        await asyncio.to_thread(_control, child.pid, "--dump")
        await asyncio.to_thread(_control, child.pid, "--instr=off")
        answered = max(sum(result["statuses"].values()), 1)
        per_path[path] = _instructions(out, f"{child.name}-{path}") // answered
        common.say(
            f"{child.name}, {path} inbox: {per_path[path]:,} instructions per request "
            f"({answered} requests, statuses {result['statuses']})"
        )
        if after is not None:
            await after(path)
    return per_path


async def run() -> list[str]:
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        common.say("valgrind not installed (apt-get install valgrind): skipped")
        return []
    count = common.scaled(1_000, 100)
    lines: list[str] = []
    with common.workdir("instructions") as tmp:
        senders = make_senders(SENDERS)
        recipient = f"http://{DOMAIN}/actors/{HANDLE}"
        files: dict[str, Path] = {}
        for path, target in PATHS.items():
            # One file per path with the warm-up's requests and the measured ones after them:
            # every request is a distinct activity.
            requests = signed_inbox_requests(
                senders, count + count // 4, DOMAIN, recipient, path=target
            )
            files[f"{path}-warm"] = tmp / f"warm-{path}.bin"
            write_requests(files[f"{path}-warm"], requests[: count // 4])
            files[path] = tmp / f"requests-{path}.bin"
            write_requests(files[path], requests[count // 4 :])
        common.say(
            f"{count} measured requests per path (after {count // 4} to warm up), concurrency "
            f"{CONCURRENCY}, under callgrind"
        )
        port = common.free_port()
        spec = common.write_json(
            tmp / "bare.json",
            {"port": port, "max_seconds": 3600, "keys": {s.key_id: s.public_pem for s in senders}},
        )
        figures: dict[str, dict[str, int]] = {}
        with common.children() as kids:
            command, out = _valgrind("bare", common.bench_command("bare_inbox", str(spec)), tmp)
            bare = common.Child("bare-inbox", command, tmp, core_set={common.server_core()})
            kids.append(bare)
            await common.wait_port(port, bare, within=300)
            figures["bare"] = await _measure(bare, out, port, files, tmp, count)
        async with common.database("sqlite", tmp, "instructions") as url:
            setup = await common.create_node(tmp / "node", url, domain=DOMAIN, handle=HANDLE)
            await _seed_senders(url, senders)
            with common.children() as kids:
                args = ["serve", "--config", str(setup.config), "--port", str(setup.port)]
                command, out = _valgrind("node", common.cityfed_command(*args, "--no-worker"), tmp)
                node = common.Child("node", command, tmp, core_set={common.server_core()})
                kids.append(node)
                await common.wait_port(setup.port, node, within=600)

                async def check_and_clear(path: str) -> None:
                    _, distinct = await _stored(url)
                    common.say(f"node, {path} inbox: {distinct} activities stored")
                    await _clear(url)

                figures["node"] = await _measure(
                    node, out, setup.port, files, tmp, count, check_and_clear
                )
        for path in PATHS:
            suffix = "" if path == "shared" else f"_{path}"
            node_ir, bare_ir = figures["node"][path], figures["bare"][path]
            common.say(
                f"{path} inbox: node {node_ir:,} against bare {bare_ir:,} instructions per "
                f"request ({bare_ir / node_ir:.2f}x)"
            )
            lines.append(
                common.bench_line(
                    f"inbox_sqlite{suffix}_instructions",
                    1e9 / node_ir,
                    "activities/G-instructions",
                    1e9 / bare_ir,
                )
            )
        lines.append(
            common.bench_line(
                "inbox_sqlite_personal_vs_shared_instructions",
                1e9 / figures["node"]["personal"],
                "activities/G-instructions",
                1e9 / figures["node"]["shared"],
            )
        )
    return lines
