"""A project or challenge as staff work with it: its thread and reply form, its adoptions (and
"adopt this solution"), and for challenges the solution offers (offer one, accept or reject).

Every form calls the same action as the REST API: ``actions.comments.comment``,
``actions.adoptions.adopt``/``update``, ``actions.offers.offer``/``answer``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cityfed.actions import adoption_graph
from cityfed.actions import adoptions as adoption_actions
from cityfed.actions import comments as comment_actions
from cityfed.actions import media as media_actions
from cityfed.actions import offers as offer_actions
from cityfed.actions import projects as project_actions
from cityfed.actions.adoption_fields import ADOPTION
from cityfed.actions.errors import ActionError
from cityfed.actions.project_fields import FieldError
from cityfed.activitypub.vocab.cooperation import ADOPTION_STATUSES
from cityfed.appkeys import NODE
from cityfed.models import comments as comment_queries
from cityfed.models import cooperation as cooperation_queries
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models import suggestions as suggestion_queries
from cityfed.models.objects import CITY_TYPES
from cityfed.models.reactions import ReactionKind
from cityfed.schemas.objects import ADOPTION_SPECS
from cityfed.web.object_view import object_view
from cityfed.web.references import referenced_ids
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import city, form, object_url, text
from cityfed.web.staff.i18n import Shown
from cityfed.web.staff.render import error_page, page, redirect
from cityfed.web.staff.state import translator
from cityfed.web.threads import comment_anchor, discussion


def _problem(exc: ActionError) -> tuple[str, ActionError]:
    """(field, refusal) of an action's refusal; the page translates it (``i18n.problem``)."""
    return exc.field or "", exc


async def render_object(
    request: web.Request,
    ap_id: str,
    *,
    status: int = 200,
    errors: dict[str, Shown] | None = None,
    values: dict[str, dict[str, str]] | None = None,
) -> web.Response:
    _ = translator(request)
    me = await city(request)
    node = request.app[NODE]
    async with node.db.session() as session:
        found = await object_queries.with_author(session, ap_id) if ap_id else None
        if found is None or found[0].type not in CITY_TYPES:
            return error_page(request, 404, _("This node holds no such project or challenge."))
        row, author = found
        if row.deleted_at is not None:
            return error_page(request, 404, _("This project or challenge was deleted."))
        item = project_actions.load(row)
        kind = project_actions.kind_of(row)
        media = await media_actions.object_media(session, node, row.id) if row.local else []
        # Nested as on the public page: each reply under the comment it answers.
        comments = discussion(row.context or row.ap_id, await comment_queries.thread(session, row))
        titles = await object_queries.titles(session, referenced_ids(item))
        liked_by = await reaction_queries.reactors(session, row.id, ReactionKind.LIKE)
        boosted_by = await reaction_queries.reactors(session, row.id, ReactionKind.ANNOUNCE)
        adoptions: list[tuple[dict[str, Any], Any]] = []
        offers: list[tuple[dict[str, Any], Any]] = []
        our_projects = []
        suggestions: list[suggestion_queries.Suggestion] = []
        if kind == "project":
            for adoption, adopter in await cooperation_queries.targeting_with_authors(
                session, ADOPTION, row.ap_id
            ):
                adoptions.append((adoption_graph.view(adoption), adopter))
        else:
            rows = await cooperation_queries.targeting_with_authors(
                session, offer_actions.SOLUTION_OFFER, row.ap_id
            )
            answers = await offer_actions.answers(session, [offer for offer, _a in rows])
            for offer, offerer in rows:
                reply = answers.get(offer.activity_ap_id or "")
                offers.append((offer_actions.view(offer, reply), offerer))
            if row.actor_id != me.id:
                our_projects = [
                    (project.ap_id, project_actions.load(project).name)
                    for project in await object_queries.local_objects(
                        session, me.id, ("Project",), limit=None
                    )
                ]
            titles |= await object_queries.titles(session, [o["project"] for o, _a in offers])
            # Suggested solutions (issue 18.4): for our open challenge, projects from across the
            # federation; for a partner's, our own projects we could offer.
            if row.actor_id == me.id and item.phase == "open":
                suggestions = await suggestion_queries.for_challenge(session, row)
            elif not author.local:
                suggestions = await suggestion_queries.for_challenge(
                    session, row, by_actor_id=me.id
                )
    ours = row.local and row.actor_id == me.id
    mine = next((a for a, adopter in adoptions if adopter.id == me.id), None)
    return page(
        request,
        "object.html",
        status=status,
        row=row,
        item=item,
        kind=kind,
        view=object_view(row, item, author, titles),
        author=author,
        ours=ours,
        comments=comments.comments,
        liked_by=liked_by,
        boosted_by=boosted_by,
        adoptions=adoptions,
        my_adoption=mine,
        offers=offers,
        our_projects=our_projects,
        suggestions=suggestions,
        titles=titles,
        statuses=ADOPTION_STATUSES,
        me=me,
        errors=errors or {},
        values=values or {},
        media=media,
        max_images=media_actions.MAX_IMAGES,
    )


@requires("editor")
async def object_page(request: web.Request) -> web.StreamResponse:
    return await render_object(request, request.query.get("id", ""))


@requires("editor")
async def comment(request: web.Request) -> web.StreamResponse:
    """A comment on the project or challenge (``object``), or a reply to one of its comments
    (``in_reply_to`` a comment's id): the API's action either way."""
    data = await form(request)
    target = text(data, "in_reply_to")
    page_of = text(data, "object") or target  # the object page the form is on
    me = await city(request)
    try:
        row = await comment_actions.comment(request.app[NODE], me, target, data.get("content", ""))
    except comment_actions.CommentError as exc:
        name, problem = _problem(exc)
        return await render_object(
            request,
            page_of,
            status=422,
            errors={f"comment.{name}": problem},
            values={"comment": data},
        )
    return redirect(f"{object_url(page_of)}#{comment_anchor(row.ap_id)}", done="commented")


@requires("editor")
async def adopt_form(request: web.Request) -> web.StreamResponse:
    return await _adopt_page(request, request.query.get("project", ""), {}, {})


async def _adopt_page(
    request: web.Request,
    project_id: str,
    values: dict[str, str],
    errors: dict[str, Shown],
    status: int = 200,
) -> web.Response:
    _ = translator(request)
    async with request.app[NODE].db.session() as session:
        found = await object_queries.with_author(session, project_id) if project_id else None
    if found is None or found[0].type != "Project" or found[0].deleted_at is not None:
        return error_page(request, 404, _("This node holds no such project."))
    row, author = found
    item = project_actions.load(row)
    defaults = {"title": item.name, "teaser": item.teaser, "status": "considering"}
    return page(
        request,
        "adopt.html",
        status=status,
        row=row,
        item=item,
        author=author,
        values={**defaults, **values},
        errors=errors,
        statuses=ADOPTION_STATUSES,
    )


@requires("editor")
async def adopt(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    project_id = text(data, "project")
    body = {name: data.get(name, "") for name in ("status", "title", "teaser")}
    me = await city(request)
    try:
        _adoption, project = await adoption_actions.adopt(request.app[NODE], me, project_id, body)
    except FieldError as exc:
        name, problem = _problem(exc)
        return await _adopt_page(request, project_id, data, {name: problem}, status=422)
    return redirect(object_url(project.ap_id), done="adopted")


@requires("editor")
async def update_adoption(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    back = text(data, "back")
    body = {name: data.get(name, "") for name in ("status", *(s.name for s in ADOPTION_SPECS))}
    try:
        await adoption_actions.update(request.app[NODE], text(data, "id"), body)
    except FieldError as exc:
        name, problem = _problem(exc)
        return await render_object(
            request,
            back,
            status=422,
            errors={f"adoption.{name}": problem},
            values={"adoption": data},
        )
    except project_actions.NotFound:
        _ = translator(request)
        return error_page(request, 404, _("No such adoption of ours."))
    return redirect(object_url(back) + "#adoptions", done="adoption_updated")


@requires("editor")
async def offer(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    challenge = text(data, "challenge")
    body = {
        "challenge": challenge,
        "project": text(data, "project"),
        "content": data.get("content"),
    }
    me = await city(request)
    try:
        await offer_actions.offer(request.app[NODE], me, body)
    except FieldError as exc:
        name, problem = _problem(exc)
        return await render_object(
            request,
            challenge,
            status=422,
            errors={f"offer.{name}": problem},
            values={"offer": data},
        )
    return redirect(object_url(challenge) + "#offers", done="offered")


@requires("editor")
async def answer_offer(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    challenge = text(data, "challenge")
    accept = data.get("decision") == "accept"
    try:
        await offer_actions.answer(
            request.app[NODE],
            text(data, "offer"),
            accept=accept,
            solved=accept and data.get("solved") == "on",
            reason=None if accept else data.get("reason"),
        )
    except FieldError as exc:
        name, problem = _problem(exc)
        return await render_object(
            request, challenge, status=422, errors={f"answer.{name}": problem}
        )
    return redirect(object_url(challenge) + "#offers", done="offer_answered")
