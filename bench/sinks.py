"""Loopback inbox sinks for fan-out: many ports ("hosts"), counting what arrives, in one process.

``python -m bench.sinks PORTS MAX_SECONDS`` listens on PORTS ports of 127.0.0.1 (each a distinct
host[:port] authority, so per-host limits apply as they would to distinct servers), prints
``{"ports": [...]}`` and then obeys JSON commands on stdin, one per line:

* ``{"cmd": "expect", "count": N, "timeout": T, "key_pem": PEM, "sample": K}``: reset the
  counters, then answer (one JSON line) once N requests arrived or T seconds passed: how many,
  how many distinct (port, path) pairs, the first and last arrival (``time.monotonic``, which is
  system-wide, so comparable with other processes), and how many of every K-th request's
  draft-cavage signatures verified with PEM;
  with ``"distinct": true`` it answers once N distinct (port, path) pairs arrived instead;
* ``{"cmd": "quit"}``.

Each request is answered ``202`` as soon as its body is in. The HTTP handling is a minimal
asyncio protocol, so the sinks cost a small fraction of what the senders they measure cost.
The process exits by itself after MAX_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from collections import Counter
from typing import Any, cast

from cityfed import eventloop
from cityfed.activitypub import cavage
from cityfed.activitypub.sigerrors import SignatureError

_REPLY = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


class _State:
    def __init__(self) -> None:
        self.reset(0, None, 0)

    def reset(self, expected: int, key: Any, sample: int, distinct: bool = False) -> None:
        self.expected = expected
        self.until_distinct = distinct  # done when that many distinct (port, path) arrived
        self.key = key
        self.sample = sample
        self.received = 0
        self.seen: Counter[tuple[int, str]] = Counter()
        self.first = 0.0
        self.last = 0.0
        self.verified = 0
        self.failed: Counter[str] = Counter()
        self.done = asyncio.Event()

    def record(self, port: int, head: bytes, body: bytes) -> None:
        now = time.monotonic()
        if not self.received:
            self.first = now
        self.last = now
        self.received += 1
        request_line, _, header_block = head.partition(b"\r\n")
        parts = request_line.split(b" ")
        path = parts[1].decode("latin-1") if len(parts) > 1 else ""
        self.seen[(port, path)] += 1
        if self.key is not None and self.sample and self.received % self.sample == 1:
            self._verify(parts[0].decode("latin-1"), path, header_block, body)
        arrived = len(self.seen) if self.until_distinct else self.received
        if self.expected and arrived >= self.expected:
            self.done.set()

    def _verify(self, method: str, path: str, header_block: bytes, body: bytes) -> None:
        headers: dict[str, str] = {}
        for line in header_block.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        try:
            sig = cavage.parse_signature_header(headers.get("Signature", ""))
            cavage.verify_request(sig, method, path, headers, self.key, body=body)
        except SignatureError as exc:
            self.failed[exc.reason] += 1
            return
        self.verified += 1

    def report(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "distinct": len(self.seen),
            "duplicates": sum(n - 1 for n in self.seen.values() if n > 1),
            "first": self.first,
            "last": self.last,
            "verified": self.verified,
            "failed": dict(self.failed),
        }


class _Sink(asyncio.Protocol):
    def __init__(self, state: _State, port: int) -> None:
        self._state = state
        self._port = port
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            length = 0
            lowered = head.lower()
            index = lowered.find(b"\r\ncontent-length:")
            if index >= 0:
                stop = lowered.find(b"\r\n", index + 2)
                length = int(lowered[index + 17 : stop if stop >= 0 else len(lowered)])
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            body = bytes(self._buffer[end + 4 : total])
            del self._buffer[:total]
            self._state.record(self._port, head, body)
            assert self._transport is not None
            self._transport.write(_REPLY)


async def _commands(state: _State) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "quit":
            return
        key = cavage.load_public_key_pem(command["key_pem"]) if command.get("key_pem") else None
        state.reset(
            int(command["count"]),
            key,
            int(command.get("sample", 0)),
            bool(command.get("distinct", False)),
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.done.wait(), float(command["timeout"]))
        print(json.dumps(state.report()), flush=True)


async def main(ports: int, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    state = _State()
    servers = []
    bound: list[int] = []
    for _ in range(ports):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = await loop.create_server(
            lambda port=port: _Sink(state, port), sock=sock, backlog=256
        )
        servers.append(server)
        bound.append(port)
    print(json.dumps({"ports": bound}), flush=True)
    try:
        await asyncio.wait_for(_commands(state), max_seconds)
    except TimeoutError:
        pass
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    eventloop.run(main(int(sys.argv[1]), float(sys.argv[2])))
