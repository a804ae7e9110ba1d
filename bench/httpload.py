"""A lean closed-loop HTTP/1.1 load generator, run as its own process: ``python -m bench.httpload``.

It sends pre-built raw requests over keep-alive connections (no client library in the way, so
one core of it outpaces the server it measures), records each request's latency and status,
and prints one JSON result per phase on stdout. The spec file (JSON) names the port, a deadline
and the phases; a phase's requests come from a file of length-prefixed raw requests (each sent
once: distinct activities) or from a few templates sent round-robin (read paths). Every phase
is bounded by its request count and by the deadline, and the process exits by itself.
"""

from __future__ import annotations

import asyncio
import json
import resource
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from cityfed import eventloop

_LENGTH = struct.Struct("!I")


def write_requests(path: Path, requests: list[bytes]) -> None:
    """Store raw requests for ``read_requests``: each prefixed with its 4-byte length."""
    with path.open("wb") as fh:
        for request in requests:
            fh.write(_LENGTH.pack(len(request)))
            fh.write(request)


def read_requests(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        (length,) = _LENGTH.unpack_from(data, pos)
        pos += _LENGTH.size
        out.append(data[pos : pos + length])
        pos += length
    return out


def raw_request(
    method: str, path: str, headers: dict[str, str], body: bytes = b"", *, host: str
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; parses just enough of the answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        parsed = _parse_response(self._buffer)
        if parsed is not None:
            status, used = parsed
            del self._buffer[:used]
            waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionError("connection closed"))
        self.transport = None

    async def request(self, data: bytes) -> int:
        if self.transport is None:
            raise ConnectionError("not connected")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _parse_response(buffer: bytearray) -> tuple[int, int] | None:
    """(status, bytes used) of a complete response at the start of ``buffer``, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    start = end + 4
    index = head.find(b"\r\ncontent-length:")
    if index >= 0:
        stop = head.find(b"\r\n", index + 2)
        length = int(head[index + 17 : stop if stop >= 0 else len(head)])
        return (status, start + length) if len(buffer) >= start + length else None
    if b"transfer-encoding: chunked" in head:
        pos = start
        while True:
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
            if size == 0:
                trailer_end = buffer.find(b"\r\n\r\n", line_end - 2 if line_end >= 2 else 0)
                return (status, trailer_end + 4) if trailer_end >= 0 else None
            pos = line_end + 2 + size + 2
            if pos > len(buffer):
                return None
    return status, start  # no body (e.g. 204/304)


async def _connect(port: int) -> _Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(_Connection, "127.0.0.1", port)
    return protocol


async def run_phase(
    port: int,
    pick: Callable[[int], bytes],
    count: int,
    concurrency: int,
    deadline: float,
    warmup: int = 0,
    rate: float | None = None,
) -> dict[str, Any]:
    """Send ``count`` requests (``pick(i)``) over ``concurrency`` connections until done or
    ``deadline`` (monotonic); the first ``warmup`` are sent but not measured. With ``rate``
    (requests/s) request ``i`` is not sent before ``i / rate`` s from the start (open loop)."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    ok_indexes: list[int] = []
    counter = iter(range(count + warmup))

    async def loop_one() -> None:
        connection = await _connect(port)
        try:
            for index in counter:
                if time.monotonic() > deadline:
                    statuses["unsent"] += 1
                    continue
                if rate:
                    wait = first + index / rate - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                data = pick(index)
                started = time.perf_counter()
                try:
                    status = await connection.request(data)
                except ConnectionError:
                    statuses["error"] += 1
                    connection.close()
                    connection = await _connect(port)
                    continue
                if index >= warmup:
                    latencies.append(time.perf_counter() - started)
                    statuses[str(status)] += 1
                    if 200 <= status < 300:
                        ok_indexes.append(index - warmup)
        finally:
            connection.close()

    first = time.perf_counter()
    await asyncio.gather(*(loop_one() for _ in range(concurrency)))
    elapsed = time.perf_counter() - first
    # This process's CPU so far, start-up included: the bench tells its own load apart from
    # other processes' on a shared machine (common.MachineLoad).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    ms = [value * 1000 for value in latencies]
    return {
        "sent": len(latencies),
        "elapsed": elapsed,
        "rate": len(latencies) / elapsed if elapsed else 0.0,
        "statuses": dict(statuses),
        "ok": len(ok_indexes),
        "p50_ms": _pct(ms, 50),
        "p90_ms": _pct(ms, 90),
        "p99_ms": _pct(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"),
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def _pct(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(min(rank, len(ordered))) - 1]


async def main(spec: dict[str, Any]) -> None:
    deadline = time.monotonic() + float(spec.get("max_seconds", 120))
    port = int(spec["port"])
    for phase in spec["phases"]:
        if "file" in phase:
            requests = read_requests(Path(phase["file"]))
            count = min(int(phase.get("count", len(requests))), len(requests))

            def pick(index: int, requests: list[bytes] = requests) -> bytes:
                return requests[index]

            warmup = 0
        else:
            templates = [t.encode("latin-1") for t in phase["templates"]]

            def pick(index: int, templates: list[bytes] = templates) -> bytes:
                return templates[index % len(templates)]

            count = int(phase["count"])
            warmup = int(phase.get("warmup", 0))
        if spec.get("announce"):
            # Start-up and reading the requests are done: the measured part begins now.
            print(json.dumps({"ready": phase.get("name", "")}), flush=True)
        result = await run_phase(
            port,
            pick,
            count,
            int(phase.get("concurrency", 1)),
            deadline,
            warmup,
            float(phase["rate"]) if phase.get("rate") else None,
        )
        result["name"] = phase.get("name", "")
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    eventloop.run(main(json.loads(Path(sys.argv[1]).read_text())))
