"""The keys under which the running app holds its shared state (``request.app[NODE]``).

Apart from ``node.py`` so that the ``Node`` itself knows no aiohttp (DESIGN §2): actions, models and
the CLI take a ``Node`` without importing the web framework.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.media.remote import RemoteMediaCache
from cityfed.media.uploads import MediaLibrary
from cityfed.models.tables import Actor, Object
from cityfed.node import Node

NODE: web.AppKey[Node] = web.AppKey("node", Node)


@dataclass(frozen=True)
class HtmlPages:
    """The web face's pages for URLs that federation also serves as JSON.

    The app wires them in (``create_app``), so a federation route answers a browser with the page
    without importing the web face: the app, not federation, knows both faces.
    """

    profile: Callable[[web.Request, AsyncSession, Node, Actor], Awaitable[web.Response]]
    object: Callable[[web.Request, Object], Awaitable[web.Response]]


HTML_PAGES: web.AppKey[HtmlPages] = web.AppKey("html_pages", HtmlPages)

# The node's media (issue 16): uploads and their storage, and the cache of partners' images.
# Made and closed by the app's cleanup_ctx (``app._media``), so they exist while it serves.
MEDIA: web.AppKey[MediaLibrary] = web.AppKey("media", MediaLibrary)
REMOTE_MEDIA: web.AppKey[RemoteMediaCache] = web.AppKey("remote_media", RemoteMediaCache)
