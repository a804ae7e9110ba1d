"""The HTML page of one of our projects or challenges (federation/objects.py serves the JSON):
the object itself, its discussion, who adopted it and which solutions were accepted."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from aiohttp import web

from cityfed.actions.project_fields import CityObject
from cityfed.actions.projects import kind_of, load
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.activitypub.vocab.common import id_of
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models import comments as comment_queries
from cityfed.models import cooperation as cooperation_queries
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.objects import CITY_TYPES
from cityfed.models.reactions import ReactionKind
from cityfed.models.tables import Object
from cityfed.web import threads
from cityfed.web.adoptions import adoption_view, adoption_views
from cityfed.web.cities import profile_url
from cityfed.web.cooperation import Cooperation
from cityfed.web.filters import KIND_LABELS
from cityfed.web.object_view import object_view
from cityfed.web.references import referenced_ids
from cityfed.web.render import render, render_error
from cityfed.web.solutions import solution_for, solution_views
from cityfed.web.templates_key import TEMPLATES

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# One page shows this many comments, adoptions and solutions at most: enough for any real
# thread, and a bound on the work a flood of (even moderated-in) comments can cause.
THREAD_LIMIT = 500
COOPERATION_LIMIT = 200


async def object_page(request: web.Request, row: Object) -> web.Response:
    """The page for ``row`` (a row of ``objects``); 410 with a short notice once deleted."""
    node = request.app[NODE]
    env = request.app[TEMPLATES]
    node_name = node.settings.domain
    if row.type not in CITY_TYPES:
        return render_error(env, 404, "Not found", "There is no page here.", node_name=node_name)
    async with node.db.session() as session:
        author = await actor_queries.actor_by_id(session, row.actor_id)
        if row.deleted_at is not None:
            return render(
                env,
                "deleted.html",
                status=410,
                kind=KIND_LABELS[kind_of(row)],
                ap_id=row.ap_id,
                deleted_at=row.deleted_at,
                author=author,
                author_url=profile_url(author) if author else None,
                node_name=node_name,
            )
        item = load(row)
        referenced = referenced_ids(item)
        titles = await object_queries.titles(session, referenced)
        owners = await object_queries.owners(session, referenced)
        cooperation = await _cooperation(session, row, item)
        counts = (await reaction_queries.counts(session, [row.id]))[row.id]
    cooperation = dataclasses.replace(
        cooperation, likes=counts[ReactionKind.LIKE], boosts=counts[ReactionKind.ANNOUNCE]
    )
    view = object_view(row, item, author, titles, owners)
    return render(
        env,
        "object.html",
        view=view,
        row=row,
        item=view.item,
        cooperation=cooperation,
        lang=view.item.language,
        author=author,
        feed_url=f"{author.ap_id}/feed.atom" if author else None,
        node_name=node_name,
    )


async def _cooperation(session: AsyncSession, row: Object, item: CityObject) -> Cooperation:
    """What partners did with ``row``; a handful of indexed queries, whatever the thread size."""
    comments = await comment_queries.thread(session, row, limit=THREAD_LIMIT + 1)
    discussion = threads.discussion(row.ap_id, comments, limit=THREAD_LIMIT)
    if isinstance(item, Project):
        return await _project_cooperation(session, row, item, discussion)
    if isinstance(item, Challenge):
        offers = await cooperation_queries.accepted_solutions(
            session, row.ap_id, limit=COOPERATION_LIMIT
        )
        projects = [id_of(o.document.get("cf:solution")) or "" for o, _ in offers]
        titles = await object_queries.titles(session, [*projects, *item.resolved_by])
        owners = await object_queries.owners(session, item.resolved_by)
        solutions = solution_views(item, offers, titles, owners)
        return Cooperation(discussion, solutions=solutions)
    return Cooperation(discussion)


async def _project_cooperation(
    session: AsyncSession, row: Object, item: Project, discussion: threads.Discussion
) -> Cooperation:
    adoptions = await cooperation_queries.adoptions_of(session, row.ap_id, limit=COOPERATION_LIMIT)
    # Our own adoption behind "based on": its status is what the origin city wants to know.
    ours = (
        await cooperation_queries.adoption_by(session, row.actor_id, row.ap_id)
        if item.is_based_on
        else None
    )
    solved = await cooperation_queries.solved_by(session, row.actor_id, row.ap_id)
    challenges = [id_of(offer.document.get("cf:challenge")) or "" for offer in solved]
    local_projects = [id_of(r.document.get("cf:localProject")) or "" for r, _ in adoptions]
    titles = await object_queries.titles(session, [*local_projects, *challenges])
    owners = await object_queries.owners(session, challenges)
    me = await actor_queries.actor_by_id(session, row.actor_id)
    return Cooperation(
        discussion,
        adopted_by=adoption_views(adoptions, titles),
        adoption=adoption_view(ours, me, titles) if ours and me else None,
        solution_for=solution_for(solved, titles, owners),
    )
