"""Pages for people: the node's front page (city profiles live in federation/actors.py)."""

from __future__ import annotations

from aiohttp import web

from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.web.render import render
from cityfed.web.templates_key import TEMPLATES


async def index(request: web.Request) -> web.Response:
    node = request.app[NODE]
    async with node.db.session() as session:
        local = await actor_queries.local_actors(session)
    name = local[0].name if len(local) == 1 and local[0].name else node.settings.domain
    return render(
        request.app[TEMPLATES],
        "index.html",
        actors=local,
        node_name=name,
        domain=node.settings.domain,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
