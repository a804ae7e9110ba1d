"""create_app(settings): the aiohttp application of one node, with its services and workers.

No globals: the ``Node`` lives on the application under an AppKey, background work is owned by
``cleanup_ctx`` and cancelled on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from cityfed import middleware
from cityfed.api import admin as api_admin
from cityfed.api import adoptions as api_adoptions
from cityfed.api import comments as api_comments
from cityfed.api import follows as api_follows
from cityfed.api import keys as api_keys
from cityfed.api import media as api_media
from cityfed.api import offers as api_offers
from cityfed.api import openapi as api_openapi
from cityfed.api import profile as api_profile
from cityfed.api import projects as api_projects
from cityfed.api import reports as api_reports
from cityfed.api import search as api_search
from cityfed.api import suggestions as api_suggestions
from cityfed.api import timeline as api_timeline
from cityfed.appkeys import HTML_PAGES, MEDIA, NODE, REMOTE_MEDIA, HtmlPages
from cityfed.config import Settings
from cityfed.federation import actors, authfetch, discovery, inbox, objects, runtime
from cityfed.federation.fetch import NodeBinaryFetcher
from cityfed.federation.inbox_limits import SenderLimits
from cityfed.federation.inbox_writer import InboxWriter
from cityfed.federation.verify import Verifier
from cityfed.mastodon import oauth as mastodon_oauth
from cityfed.mastodon import reading as mastodon_reading
from cityfed.mastodon import staff_routes as mastodon_staff
from cityfed.mastodon import streaming as mastodon_streaming
from cityfed.media.remote import RemoteMediaCache
from cityfed.media.uploads import MediaLibrary
from cityfed.models.db import open_database
from cityfed.node import Node
from cityfed.urls import Urls
from cityfed.web import lists as web_lists
from cityfed.web import objects as web_objects
from cityfed.web import pages, staff
from cityfed.web import routes as web_routes
from cityfed.web.render import create_environment
from cityfed.web.templates_key import TEMPLATES

log = logging.getLogger("cityfed.app")

STATIC = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings, *, workers: bool = True) -> web.Application:
    logging.getLogger("cityfed").setLevel(settings.log_level)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[middleware.answer],  # with the gates (middleware.py)
        # aiohttp closes a connection that is still waiting for a request's headers when its
        # keep-alive timer runs out (set at connect and after each answer): the header deadline.
        handler_args={"keepalive_timeout": settings.header_timeout},
    )
    node = Node(
        settings=settings, db=open_database(settings.database_url), urls=Urls(settings.base_url)
    )
    app[NODE] = node
    app[TEMPLATES] = create_environment()
    # Content negotiation at the app level: federation routes hand a browser to these pages.
    app[HTML_PAGES] = HtmlPages(profile=web_lists.profile_page, object=web_objects.object_page)
    app[inbox.VERIFIER] = app[authfetch.VERIFIER] = Verifier(node)
    app[inbox.INBOX_WRITER] = InboxWriter(node.db, on_commit=node.inbox_wakeup)
    app[inbox.SENDER_LIMITS] = SenderLimits(settings, node.db)
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(_media)
    if workers:
        app.cleanup_ctx.append(_workers)

    discovery.add_routes(app)
    # Before the actor pages: aiohttp tries the routes under /actors one by one, in order, and a
    # personal inbox POST is the hot one (bench/README.md).
    inbox.add_routes(app)
    actors.add_routes(app)
    objects.add_routes(app)
    api_admin.add_routes(app)
    api_adoptions.add_routes(app)
    api_follows.add_routes(app)
    api_keys.add_routes(app)
    api_media.add_routes(app)
    api_offers.add_routes(app)
    api_openapi.add_routes(app)
    api_profile.add_routes(app)
    api_comments.add_routes(app)
    api_projects.add_routes(app)
    api_reports.add_routes(app)
    api_timeline.add_routes(app)
    # Before the anonymous /api/v1/accounts/{id} route: aiohttp tries routes in order, and
    # accounts/verify_credentials and accounts/relationships must not be taken for an id.
    mastodon_staff.add_routes(app)
    mastodon_oauth.add_routes(app)
    mastodon_reading.add_routes(app)
    mastodon_streaming.add_routes(app)
    api_suggestions.add_routes(app)
    api_search.add_routes(app)
    pages.add_routes(app)
    web_routes.add_routes(app)
    staff.setup(app)
    app.router.add_static("/static", STATIC, append_version=False)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The HTTP client and the inbox's group-commit writer live as long as the app."""
    node = app[NODE]
    async with runtime.client_session(node):
        await node.policy.refresh(node.db, force=True)
        await node.load_local_handles()
        writer = asyncio.create_task(app[inbox.INBOX_WRITER].run(), name="inbox-writer")
        log.info("node %s up (%s)", node.urls.base, node.db.dialect)
        try:
            yield
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
    await node.db.dispose()


async def _media(app: web.Application) -> AsyncIterator[None]:
    """The media library and the remote image cache share one storage backend (and, for S3,
    one connection pool), opened here and closed on shutdown. After ``_lifecycle``: the cache
    fetches through the node's HTTP client."""
    node = app[NODE]
    settings = node.settings
    library = MediaLibrary.from_settings(settings, node.db)
    app[MEDIA] = library
    app[REMOTE_MEDIA] = RemoteMediaCache(
        db=node.db,
        storage=library.storage,
        processor=library.processor,
        fetcher=NodeBinaryFetcher(node),
        is_blocked=node.policy.is_blocked,
        refresh_policy=lambda: node.policy.refresh(node.db),
        max_bytes=settings.media_remote_max_bytes,
        cache_bytes=settings.media_remote_cache_bytes,
        max_pixels=settings.media_max_image_pixels,
    )
    try:
        yield
    finally:
        await library.close()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    async with runtime.workers(app[NODE]):
        yield
