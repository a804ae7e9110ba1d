"""Our projects and challenges: list, publish, edit, delete, and the Markdown preview.

Each form posts the API's fields to ``actions.projects.publish``/``edit``/``delete`` through
``forms.validate`` (which uses ``actions.project_fields.parse``): the one code path of §2.
"""

from __future__ import annotations

from aiohttp import web
from markupsafe import Markup

from cityfed.actions import projects as project_actions
from cityfed.actions.project_fields import KINDS, view
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object
from cityfed.web.filters import LANGUAGE_NAMES
from cityfed.web.markdown import render_markdown
from cityfed.web.staff import forms, labels, queries
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import city, form, object_url, text
from cityfed.web.staff.render import error_page, page, redirect
from cityfed.web.staff.state import translator

MAX_PREVIEW = 100_000


def _kind(value: str | None) -> str:
    return value if value in KINDS else "project"


async def _own(request: web.Request, ap_id: str) -> tuple[Object, Actor] | None:
    """One of our live projects/challenges and the city that owns it."""
    async with request.app[NODE].db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id) if ap_id else None
        if row is None or not row.local or row.deleted_at is not None:
            return None
        if row.type not in ("Project", "Challenge"):
            return None
        owner = await actor_queries.actor_by_id(session, row.actor_id)
    return (row, owner) if owner is not None else None


async def _form_page(
    request: web.Request,
    item: forms.ItemForm,
    *,
    editing: str | None = None,
    status: int = 200,
    preview: Markup | None = None,
) -> web.Response:
    challenges: list[queries.KnownChallenge] = []
    if item.kind == "project":
        async with request.app[NODE].db.session() as session:
            challenges = await queries.known_challenges(session)
    languages = dict(sorted(LANGUAGE_NAMES.items()))
    for entry in (item.value("language"), *(t.lang for t in item.translations)):
        if entry and entry not in languages:
            languages[entry] = entry
    return page(
        request,
        "item_form.html",
        status=status,
        item=item,
        editing=editing,
        preview=preview,
        languages=languages,
        phases=labels.PHASES_OF[item.kind],
        goals=list(labels.SDGS),
        known_challenges=challenges,
    )


def _not_ours(request: web.Request) -> web.Response:
    _ = translator(request)
    return error_page(request, 404, _("No such project or challenge of ours."))


@requires("editor")
async def list_items(request: web.Request) -> web.StreamResponse:
    me = await city(request)
    async with request.app[NODE].db.session() as session:
        rows = await object_queries.local_objects(session, me.id, limit=None)
    items = [(row, project_actions.load(row)) for row in rows]
    return page(request, "items.html", items=items)


@requires("editor")
async def new_form(request: web.Request) -> web.StreamResponse:
    kind = _kind(request.query.get("kind"))
    item = forms.ItemForm(kind, {"language": "en", "phase": KINDS[kind].PHASES[0]})
    return await _form_page(request, item)


def _preview(item: forms.ItemForm) -> Markup:
    return Markup(render_markdown(item.value("description")[:MAX_PREVIEW]))


@requires("editor")
async def create(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    raw_kind = data.get("kind")
    kind = _kind(raw_kind if isinstance(raw_kind, str) else None)
    item = forms.read(kind, data)
    if data.get("action") == "preview":
        return await _form_page(request, item, preview=_preview(item))
    submission = forms.validate(item)
    if submission is None:
        return await _form_page(request, item, status=422)
    me = await city(request)
    row = await project_actions.publish(request.app[NODE], me, kind, submission)
    return redirect(object_url(row.ap_id), done="published")


@requires("editor")
async def edit_form(request: web.Request) -> web.StreamResponse:
    found = await _own(request, request.query.get("id", ""))
    if found is None:
        return _not_ours(request)
    row, _owner = found
    kind = project_actions.kind_of(row)
    item = forms.from_view(kind, view(project_actions.load(row), featured=row.featured))
    return await _form_page(request, item, editing=row.ap_id)


@requires("editor")
async def update(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    raw_id = data.get("id")
    found = await _own(request, raw_id if isinstance(raw_id, str) else "")
    if found is None:
        return _not_ours(request)
    row, owner = found
    kind = project_actions.kind_of(row)
    item = forms.read(kind, data)
    if data.get("action") == "preview":
        return await _form_page(request, item, editing=row.ap_id, preview=_preview(item))
    submission = forms.validate(item)
    if submission is None:
        return await _form_page(request, item, editing=row.ap_id, status=422)
    try:
        await project_actions.edit(request.app[NODE], owner, row.ap_id, submission, kind)
    except project_actions.NotFound:
        return _not_ours(request)
    return redirect(object_url(row.ap_id), done="updated")


@requires("editor")
async def delete_form(request: web.Request) -> web.StreamResponse:
    found = await _own(request, request.query.get("id", ""))
    if found is None:
        return _not_ours(request)
    row, _owner = found
    return page(
        request,
        "delete.html",
        row=row,
        item=project_actions.load(row),
        kind=project_actions.kind_of(row),
    )


@requires("editor")
async def delete(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    found = await _own(request, text(data, "id"))
    if found is None:
        return _not_ours(request)
    row, owner = found
    try:
        await project_actions.delete(request.app[NODE], owner, row.ap_id)
    except project_actions.NotFound:
        return _not_ours(request)
    return redirect("/staff/items", done="deleted")


@requires("editor")
async def preview(request: web.Request) -> web.StreamResponse:
    """The rendered Markdown of ``text`` as an HTML fragment (for the optional script)."""
    data = await form(request)
    html = render_markdown(data.get("text", "")[:MAX_PREVIEW])
    return web.Response(text=html, content_type="text/html", charset="utf-8")
