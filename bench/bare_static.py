"""The read-path baseline: a bare aiohttp handler answering stored bytes, no database, no templates.

``python -m bench.bare_static SPEC.json`` serves ``{"routes": {path: [content_type, file]}}`` on
the spec's port until SIGTERM or ``max_seconds``: the floor of one aiohttp GET on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from cityfed import eventloop, heap


def make_app(routes: dict[str, tuple[str, bytes]]) -> web.Application:
    app = web.Application()
    for path, (content_type, body) in routes.items():

        async def handler(
            request: web.Request, body: bytes = body, content_type: str = content_type
        ) -> web.Response:
            return web.Response(body=body, content_type=content_type)

        app.router.add_get(path, handler)
    return app


async def main(spec: dict[str, Any], routes: dict[str, tuple[str, bytes]]) -> None:
    runner = web.AppRunner(make_app(routes), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(spec["port"])).start()
    try:
        await asyncio.sleep(float(spec.get("max_seconds", 300)))
    finally:
        await runner.cleanup()


async def _run(spec: dict[str, Any], routes: dict[str, tuple[str, bytes]]) -> None:
    task = asyncio.ensure_future(main(spec, routes))
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _routes(spec: dict[str, Any]) -> dict[str, tuple[str, bytes]]:
    return {
        path: (content_type, Path(file).read_bytes())
        for path, (content_type, file) in spec["routes"].items()
    }


if __name__ == "__main__":
    _spec = json.loads(Path(sys.argv[1]).read_text())
    heap.settle()
    eventloop.run(_run(_spec, _routes(_spec)))
