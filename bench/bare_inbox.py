"""The inbox baseline: a bare aiohttp handler that verifies draft-cavage signatures and answers 202.

No database, no policy, no logging: it reads the body, parses the ``Signature`` header, takes
the sender's public key from a dict loaded at start (as a warm key cache would), checks Date,
Digest and the RSA signature with the same ``cityfed.activitypub.cavage`` code the node uses,
and answers 202 (401 if anything fails). ``python -m bench.bare_inbox SPEC.json``; it stops on
SIGTERM or after the spec's ``max_seconds``.
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
from cityfed.activitypub import cavage
from cityfed.activitypub.sigerrors import SignatureError


def make_app(public_pems: dict[str, str]) -> web.Application:
    keys: dict[str, Any] = {
        key_id: cavage.load_public_key_pem(pem) for key_id, pem in public_pems.items()
    }

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            sig = cavage.parse_signature_header(request.headers.get("Signature", ""))
            key = keys.get(sig.key_id)
            if key is None:
                raise SignatureError("unknown key")
            cavage.verify_request(
                sig, request.method, request.raw_path, request.headers, key, body=body
            )
        except SignatureError as exc:
            return web.json_response({"error": exc.reason}, status=401)
        return web.Response(status=202)

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/inbox", inbox)
    app.router.add_post("/actors/{handle}/inbox", inbox)  # the personal inbox: same work
    return app


async def main(spec: dict[str, Any]) -> None:
    runner = web.AppRunner(make_app(spec["keys"]), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(spec["port"])).start()
    try:
        await asyncio.sleep(float(spec.get("max_seconds", 300)))
    finally:
        await runner.cleanup()


async def _run(spec: dict[str, Any]) -> None:
    task = asyncio.ensure_future(main(spec))
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    # The node's event loop (uvloop where installed) and heap settings: like for like.
    heap.settle()
    eventloop.run(_run(json.loads(Path(sys.argv[1]).read_text())))
