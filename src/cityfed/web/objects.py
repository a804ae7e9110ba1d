"""The HTML page of one of our projects or challenges (federation/objects.py serves the JSON)."""

from __future__ import annotations

from aiohttp import web

from cityfed.actions.projects import kind_of, load
from cityfed.models.objects import CITY_TYPES
from cityfed.models.tables import Object
from cityfed.node import NODE
from cityfed.web import present, queries
from cityfed.web.render import render, render_error
from cityfed.web.templates_key import TEMPLATES


async def object_page(request: web.Request, row: Object) -> web.Response:
    """The page for ``row`` (a row of ``objects``); 410 with a short notice once deleted."""
    node = request.app[NODE]
    env = request.app[TEMPLATES]
    node_name = node.settings.domain
    if row.type not in CITY_TYPES:
        return render_error(env, 404, "Not found", "There is no page here.", node_name=node_name)
    async with node.db.session() as session:
        author = await queries.actor_by_id(session, row.actor_id)
        if row.deleted_at is not None:
            return render(
                env,
                "deleted.html",
                status=410,
                kind=present.KIND_LABELS[kind_of(row)],
                ap_id=row.ap_id,
                deleted_at=row.deleted_at,
                author=author,
                author_url=present.profile_url(author) if author else None,
                node_name=node_name,
            )
        item = load(row)
        titles = await queries.titles(session, present.referenced_ids(item))
    view = present.object_view(row, item, author, titles)
    return render(
        env,
        "object.html",
        view=view,
        item=view.item,
        lang=view.item.language,
        author=author,
        feed_url=f"{author.ap_id}/feed.atom" if author else None,
        node_name=node_name,
    )
