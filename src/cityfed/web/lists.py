"""HTML lists of projects and challenges: on a city's profile, per kind, and per hashtag."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from cityfed.actions import profile as profile_actions
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor
from cityfed.node import Node
from cityfed.web import paging
from cityfed.web.cards import cards
from cityfed.web.cities import CityLinks, profile_url
from cityfed.web.filters import KIND_LABELS
from cityfed.web.render import render, render_error
from cityfed.web.templates_key import TEMPLATES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

KINDS = {"projects": ("project", "Project"), "challenges": ("challenge", "Challenge")}


def _error(request: web.Request, node: Node, status: int, title: str, message: str) -> web.Response:
    env = request.app[TEMPLATES]
    return render_error(env, status, title, message, node_name=node.settings.domain)


def _bad_page(request: web.Request, node: Node) -> web.Response:
    return _error(request, node, 400, "Bad page number", "Pages are numbered 1, 2, 3…")


def _no_such_page(request: web.Request, node: Node) -> web.Response:
    return _error(request, node, 404, "No such page", "This list has fewer pages.")


def _no_such_city(request: web.Request, node: Node) -> web.Response:
    return _error(request, node, 404, "Not found", "There is no city of that name on this node.")


async def profile_page(
    request: web.Request, session: AsyncSession, node: Node, actor: Actor
) -> web.Response:
    """A city's profile: facts, featured items (first page only), everything newest first, paged,
    and links to the feed and the open data. Called by federation/actors.py for both
    ``/@{handle}`` and ``/actors/{handle}`` when a browser asks."""
    try:
        number = paging.page_number(request.query.get("page"))
    except paging.BadPage:
        return _bad_page(request, node)
    # The featured items head the first page; the list below holds the others, so that none
    # is shown twice.
    total = await object_queries.count_local_objects(session, actor.id, featured=False)
    pager = paging.Pager(number, total, request.rel_url.raw_path)
    if pager.beyond_end:
        return _no_such_page(request, node)
    rows = await object_queries.local_objects(
        session, actor.id, offset=pager.offset, limit=pager.size, featured=False
    )
    featured = await object_queries.featured(session, actor.id) if number == 1 else []
    counts = {
        "projects": await object_queries.count_local_objects(session, actor.id, ("Project",)),
        "challenges": await object_queries.count_local_objects(session, actor.id, ("Challenge",)),
    }
    return render(
        request.app[TEMPLATES],
        "profile.html",
        actor=actor,
        profile=await profile_actions.read_in(session, node, actor),
        domain=node.settings.domain,
        followers=await follow_queries.count_followers(session, actor.id),
        following=await follow_queries.count_following(session, actor.id),
        featured=cards(featured),
        cards=cards(rows),
        pager=pager,
        counts=counts,
        links=CityLinks.of(actor),
        node_name=node.settings.domain,
    )


async def kind_list(request: web.Request) -> web.Response:
    """``/actors/{handle}/projects`` or ``/challenges``: one kind, newest first, paged."""
    node = request.app[NODE]
    kind, type_name = KINDS[request.match_info["kind"]]
    try:
        number = paging.page_number(request.query.get("page"))
    except paging.BadPage:
        return _bad_page(request, node)
    async with node.db.session() as session:
        actor = await actor_queries.local_actor(session, request.match_info["handle"])
        if actor is None:
            return _no_such_city(request, node)
        total = await object_queries.count_local_objects(session, actor.id, (type_name,))
        pager = paging.Pager(number, total, request.rel_url.raw_path)
        if pager.beyond_end:
            return _no_such_page(request, node)
        rows = await object_queries.local_objects(
            session, actor.id, (type_name,), offset=pager.offset, limit=pager.size
        )
    name = actor.name or actor.handle
    return render(
        request.app[TEMPLATES],
        "list.html",
        title=f"{KIND_LABELS[kind]}s of {name}",
        cards=cards(rows),
        pager=pager,
        actor=actor,
        profile_url=profile_url(actor),
        links=CityLinks.of(actor),
        empty=f"{name} has published no {kind}s yet.",
        node_name=node.settings.domain,
    )
