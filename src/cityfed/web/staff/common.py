"""Small helpers the staff handlers share: the acting city, form fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models.tables import Actor
from cityfed.web.staff.state import CITY


async def city(request: web.Request) -> Actor:
    """The local city the staff act for: the node's first city, as the API's default (a node
    with several cities would add a chooser here)."""
    found = request.get(CITY)
    if found is not None:
        return found
    async with request.app[NODE].db.session() as session:
        cities = await actor_queries.local_actors(session)
    if not cities:
        raise web.HTTPNotFound()
    request[CITY] = cities[0]
    return cities[0]


async def form(request: web.Request) -> dict[str, str]:
    """The posted form's single-valued text fields (the middleware has read the body)."""
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}


def text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def object_url(ap_id: str) -> str:
    """The staff page of a project or challenge (ours or a partner's copy)."""
    return "/staff/object?" + urlencode({"id": ap_id})
