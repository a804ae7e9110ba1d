"""The Mastodon streaming API (issue 17.3): WebSocket and server-sent events.

``/api/v1/streaming`` (WebSocket: ``?stream=public|public:local|hashtag|hashtag:local&tag=``, and
``{"type": "subscribe"|"unsubscribe", "stream": ..., "tag": ...}`` messages to multiplex), and the
SSE endpoints ``/api/v1/streaming/public``, ``/public/local``, ``/hashtag?tag=``,
``/hashtag/local?tag=``, with ``/api/v1/streaming/health``. Events are Mastodon's: ``update``
(payload: the Status JSON as a string), ``status.update`` and ``delete`` (payload: the id).

Every process keeps its own ``StreamHub``: status events reach it through models/notify.py
(PostgreSQL NOTIFY to all web processes, or the in-process bus on SQLite), it renders the status
once and hands it to each of its clients whose streams include it. A client too slow to read
loses events rather than growing memory without bound.

The ``user`` stream (a signed-in staff member's home timeline and notifications) needs the OAuth
viewer of issue 17.4: ``viewer_of`` is the hook; until it names a viewer, ``user`` answers 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from cityfed.appkeys import NODE
from cityfed.http.responses import error
from cityfed.mastodon.entities import hashtags
from cityfed.mastodon.ids import status_id
from cityfed.mastodon.render import Renderer
from cityfed.models import notify
from cityfed.models import statuses as status_queries

log = logging.getLogger("cityfed.mastodon.streaming")

QUEUE_SIZE = 256
HEARTBEAT_SECONDS = 15.0
PUBLIC_STREAMS = frozenset({"public", "public:local"})
TAG_STREAMS = frozenset({"hashtag", "hashtag:local"})
# Streams a client may name that need a signed-in viewer (issue 17.4).
SIGNED_IN_STREAMS = frozenset({"user", "user:notification", "list", "direct"})


@dataclass(frozen=True, slots=True)
class Subscription:
    stream: str  # public | public:local | hashtag | hashtag:local | user ...
    tag: str | None = None  # folded, for hashtag streams

    def names(self) -> list[str]:
        """How Mastodon names it in an event's ``stream`` array."""
        return [self.stream, self.tag] if self.tag is not None else [self.stream]


@dataclass(frozen=True, slots=True)
class StreamEvent:
    stream: list[str]
    event: str
    payload: str


@dataclass(eq=False)
class Client:
    """One connected stream: what it subscribed to and what waits to be sent to it."""

    subscriptions: set[Subscription] = field(default_factory=set)
    queue: asyncio.Queue[StreamEvent | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE)
    )

    def offer(self, item: StreamEvent | None) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            log.info("streaming: a client is too slow to read, an event was dropped")


# The hook for the signed-in streams: given a request, the viewer's identity, or None. The
# OAuth work (issue 17.4) sets it on the application under VIEWER_OF.
ViewerOf = Callable[[web.Request], Any]
VIEWER_OF: web.AppKey[ViewerOf] = web.AppKey("mastodon_viewer_of")


class StreamHub:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.clients: set[Client] = set()
        self._pending: set[asyncio.Task[None]] = set()

    def on_payload(self, payload: str) -> None:
        """A status event from the bus: render it in a task of its own."""
        if not self.clients:
            return  # nobody listening in this process: no query either
        task = asyncio.get_running_loop().create_task(self._dispatch(payload))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _dispatch(self, payload: str) -> None:
        try:
            message = orjson.loads(payload)
            kind = str(message["event"])
            object_id = int(message["object"])
        except (ValueError, KeyError, TypeError):
            log.warning("streaming: unreadable status event %r", payload[:200])
            return
        node = self.app[NODE]
        async with node.db.session() as session:
            row = await status_queries.by_row_id(session, object_id)
            if row is None:
                return
            if kind == "delete":
                event = (kind, status_id(row.published, row.id))
            else:
                rendered = await Renderer(session, node.urls.base).status(row)
                if rendered is None or row.deleted_at is not None:
                    return
                event = (kind, orjson.dumps(rendered).decode())
        local = row.local
        tags = {name.casefold() for name in hashtags(row.document)}
        city_object = row.type in status_queries.CITY_TYPES
        for client in list(self.clients):
            for sub in client.subscriptions:
                if _matches(sub, local=local, tags=tags, city_object=city_object):
                    client.offer(StreamEvent(sub.names(), *event))

    def connect(self, subscriptions: set[Subscription]) -> Client:
        client = Client(subscriptions=set(subscriptions))
        self.clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.discard(client)

    async def close(self) -> None:
        for client in list(self.clients):
            client.offer(None)
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)


def _matches(sub: Subscription, *, local: bool, tags: set[str], city_object: bool) -> bool:
    # The public streams carry what the public timelines show: our projects and challenges.
    if not city_object:
        return False
    if sub.stream in PUBLIC_STREAMS:
        return local
    if sub.stream in TAG_STREAMS:
        return local and sub.tag in tags
    return False


HUB: web.AppKey[StreamHub] = web.AppKey("mastodon_stream_hub", StreamHub)


def _subscription(stream: str, tag: str | None) -> Subscription:
    """A subscription from a client's ``stream`` and ``tag``; ValueError says what is wrong."""
    if stream in PUBLIC_STREAMS or stream == "public:remote":
        return Subscription(stream)
    if stream in TAG_STREAMS:
        name = (tag or "").strip().removeprefix("#")
        if not name:
            raise ValueError("No tag for hashtag stream")
        return Subscription(stream, name.casefold())
    if stream in SIGNED_IN_STREAMS or stream.startswith("public:"):
        raise PermissionError("Missing access token")
    raise ValueError("Unknown stream type")


# --- server-sent events -------------------------------------------------------------------------


async def _sse(request: web.Request, subscription: Subscription) -> web.StreamResponse:
    hub = request.app[HUB]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "Access-Control-Allow-Origin": "*",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    client = hub.connect({subscription})
    try:
        await response.write(b":)\n")
        while True:
            try:
                item = await asyncio.wait_for(client.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b":thump\n")
                continue
            if item is None:
                break
            await response.write(f"event: {item.event}\ndata: {item.payload}\n\n".encode())
    except ConnectionResetError:
        pass  # the client went away
    finally:
        hub.disconnect(client)
    return response


def _sse_route(stream: str) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            subscription = _subscription(stream, request.query.get("tag"))
        except PermissionError as exc:
            return error(401, str(exc))
        except ValueError as exc:
            return error(400, str(exc))
        return await _sse(request, subscription)

    return handler


async def sse_user(request: web.Request) -> web.StreamResponse:
    """The hook for issue 17.4: the user stream needs the OAuth viewer (``VIEWER_OF``), and
    a hub subscription keyed by it; until then it answers 401 as Mastodon does without one."""
    viewer_of = request.app.get(VIEWER_OF)
    if viewer_of is None or not viewer_of(request):
        return error(401, "Missing access token")
    return error(501, "the user stream is not implemented yet")


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK", content_type="text/plain")


# --- WebSocket ----------------------------------------------------------------------------------


async def websocket(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    # Browser apps can't set headers on a WebSocket, so they send their token as the
    # subprotocol (Mastodon's web app, Elk); a browser drops a connection whose answer does
    # not echo one of the protocols it asked for, so the one asked for is echoed.
    asked = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, protocols=[p for p in asked if p][:1])
    if not ws.can_prepare(request).ok:
        return error(400, "a WebSocket upgrade is expected here")
    await ws.prepare(request)
    client = hub.connect(set())
    stream = request.query.get("stream")
    if stream:
        await _subscribe(ws, client, stream, request.query.get("tag"))
    sender = asyncio.create_task(_send(ws, client))
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                command = orjson.loads(message.data)
                kind = command["type"]
                name = str(command["stream"])
            except (ValueError, KeyError, TypeError):
                await ws.send_json({"error": "Invalid message"})
                continue
            tag = command.get("tag")
            if kind == "subscribe":
                await _subscribe(ws, client, name, tag if isinstance(tag, str) else None)
            elif kind == "unsubscribe":
                with contextlib.suppress(ValueError, PermissionError):
                    client.subscriptions.discard(
                        _subscription(name, tag if isinstance(tag, str) else None)
                    )
    finally:
        hub.disconnect(client)
        client.offer(None)
        await asyncio.gather(sender, return_exceptions=True)
        await ws.close()
    return ws


async def _subscribe(
    ws: web.WebSocketResponse, client: Client, stream: str, tag: str | None
) -> None:
    try:
        client.subscriptions.add(_subscription(stream, tag))
    except (ValueError, PermissionError) as exc:
        await ws.send_json(
            {"error": str(exc), "status": 401 if isinstance(exc, PermissionError) else 400}
        )


async def _send(ws: web.WebSocketResponse, client: Client) -> None:
    while True:
        item = await client.queue.get()
        if item is None:
            await ws.close()
            return
        try:
            await ws.send_json(
                {"stream": item.stream, "event": item.event, "payload": item.payload}
            )
        except ConnectionResetError:
            return


# --- wiring -------------------------------------------------------------------------------------


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The hub listens to the node's status events; on PostgreSQL a listener task feeds them."""
    node = app[NODE]
    hub = app[HUB]
    node.events.subscribe(hub.on_payload)
    listener = None
    if not node.db.is_sqlite:
        listener = asyncio.create_task(
            notify.listen(node.db.url, node.events), name="stream-listen"
        )
    try:
        yield
    finally:
        node.events.unsubscribe(hub.on_payload)
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        await hub.close()


async def _on_shutdown(app: web.Application) -> None:
    # Open streams end before aiohttp waits for handlers to finish.
    await app[HUB].close()


def add_routes(app: web.Application) -> None:
    app[HUB] = StreamHub(app)
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_on_shutdown)
    router = app.router
    router.add_get("/api/v1/streaming", websocket)
    router.add_get("/api/v1/streaming/", websocket)
    router.add_get("/api/v1/streaming/health", health)
    router.add_get("/api/v1/streaming/public", _sse_route("public"))
    router.add_get("/api/v1/streaming/public/local", _sse_route("public:local"))
    router.add_get("/api/v1/streaming/public/remote", _sse_route("public:remote"))
    router.add_get("/api/v1/streaming/hashtag", _sse_route("hashtag"))
    router.add_get("/api/v1/streaming/hashtag/local", _sse_route("hashtag:local"))
    router.add_get("/api/v1/streaming/user", sse_user)
    router.add_get("/api/v1/streaming/user/notification", sse_user)
