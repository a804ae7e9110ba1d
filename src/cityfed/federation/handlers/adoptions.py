"""Create / Update of an Adoption (cf:Adoption), and the origin's Accept of one we sent.

At the origin city (the adopted project is one of ours) the Adoption is stored, listed in the
project's ``cf:adoptions`` collection, and answered with ``Accept{object: the Create, result: the
adoption}`` in the same transaction. Elsewhere (a follower of the adopter) it is kept only when we
hold a copy of the adopted project, so the adoption graph knows it. Rules: the adoption and the
adopter's project live on the sender's host and are attributed to the sender; an Update must be
newer than our copy and may not change which project is adopted.
"""

from __future__ import annotations

import logging
from typing import Any

from cityfed.activitypub.actor import authority
from cityfed.activitypub.sanitize import sanitize_html
from cityfed.activitypub.vocab.common import id_of, read_as_default
from cityfed.activitypub.vocab.cooperation import Adoption
from cityfed.federation import outbox
from cityfed.federation.handlers.base import Context, Ignore, Refuse
from cityfed.federation.notify import notify, title, who
from cityfed.models import objects as object_queries
from cityfed.models.notifications import Kind
from cityfed.models.states import ADOPTION_GRAPH, AnswerState
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow

log = logging.getLogger("cityfed.handlers.adoptions")

ADOPTION = "Adoption"


def clean(plain: dict[str, Any]) -> dict[str, Any]:
    """A received document with its HTML cleaned to what Mastodon keeps (§6)."""
    plain.pop("@context", None)
    if isinstance(plain.get("content"), str):
        plain["content"] = sanitize_html(plain["content"])
    if isinstance(plain.get("contentMap"), dict):
        plain["contentMap"] = {
            lang: sanitize_html(text)
            for lang, text in plain["contentMap"].items()
            if isinstance(text, str)
        }
    return plain


def _read(ctx: Context) -> tuple[Adoption, dict[str, Any]]:
    obj = ctx.activity.get("object")
    if not isinstance(obj, dict):
        raise Ignore("the adoption is not embedded")
    context = ctx.activity.get("@context")
    try:
        plain = read_as_default(obj, context=context)
        adoption = Adoption.from_plain(plain)
    except ValueError as exc:
        raise Refuse(f"invalid adoption: {exc}") from None
    sender = ctx.sender
    if adoption.attributed_to != sender.ap_id:
        raise Refuse(f"{adoption.id} is not attributed to {sender.ap_id}")
    for name, ap_id in (
        ("id", adoption.id),
        ("cf:localProject", adoption.local_project),
        ("cf:adopter", adoption.adopter),
    ):
        if authority(ap_id) != sender.domain:
            raise Refuse(f"{name} {ap_id} is not on {sender.domain}")
    return adoption, clean(plain)


async def _accept(ctx: Context, project: Object, adoption: Adoption) -> None:
    owner = await ctx.session.get(Actor, project.actor_id)
    assert owner is not None
    answer = {
        "id": ctx.node.urls.new_activity_id(),
        "type": "Accept",
        "actor": owner.ap_id,
        "object": ctx.activity["id"],
        "result": adoption.id,
        "to": [ctx.sender.ap_id],
    }
    inbox = ctx.sender.inbox or ctx.sender.shared_inbox or ""
    await outbox.enqueue(ctx.session, ctx.node, owner, answer, [inbox], public=False)


async def _store(ctx: Context, adoption: Adoption, plain: dict[str, Any]) -> None:
    if not ctx.node.policy.may_write(ctx.sender.domain):
        raise Ignore(f"adoptions from {ctx.sender.domain} are not accepted (federation policy)")
    project = await object_queries.by_ap_id(ctx.session, adoption.project)
    if project is None or project.type != "Project" or project.deleted_at is not None:
        raise Ignore(f"adoption of {adoption.project}, which we do not have")
    row = Object(
        ap_id=adoption.id,
        type=ADOPTION,
        actor_id=ctx.sender.id,
        local=False,
        document=plain,
        published=adoption.published or utcnow(),
        updated=adoption.updated,
        target=adoption.project,
        state=AnswerState.ACCEPTED if project.local else None,
        activity_ap_id=id_of(ctx.activity.get("id")),
    )
    ctx.session.add(row)
    await ctx.session.flush()
    if project.local:
        await _accept(ctx, project, adoption)
        summary = f"{who(ctx.sender)} adopted your project {title(project)} ({adoption.status})"
        await notify(
            ctx.session, Kind.ADOPTION, summary, actor=ctx.sender, obj=row, link=project.ap_id
        )
    log.info("stored adoption %s of %s by %s", adoption.id, adoption.project, ctx.sender.ap_id)


async def on_create(ctx: Context) -> None:
    adoption, plain = _read(ctx)
    if await object_queries.by_ap_id(ctx.session, adoption.id) is not None:
        raise Ignore(f"{adoption.id} is known already")
    await _store(ctx, adoption, plain)


async def on_update(ctx: Context) -> None:
    adoption, plain = _read(ctx)
    existing = await object_queries.by_ap_id(ctx.session, adoption.id)
    if existing is None:
        # We missed the Create (or were not addressed then): the Update carries it all.
        await _store(ctx, adoption, plain)
        return
    if existing.actor_id != ctx.sender.id or existing.type != ADOPTION:
        raise Refuse(f"{adoption.id} belongs to someone else")
    if existing.deleted_at is not None:
        raise Ignore(f"{adoption.id} was withdrawn")
    if existing.target != adoption.project:
        raise Refuse("an Update may not change which project is adopted")
    known = existing.updated or existing.published
    if adoption.updated is None or adoption.updated <= known:
        raise Ignore(f"stale Update of {adoption.id} (updated {adoption.updated}, ours {known})")
    previous = existing.document.get("cf:status")
    existing.document = plain
    existing.updated = adoption.updated
    log.info("updated adoption %s (%s) from %s", adoption.id, adoption.status, ctx.sender.ap_id)
    project = await object_queries.by_ap_id(ctx.session, adoption.project)
    if project is not None and project.local and previous != plain.get("cf:status"):
        summary = (
            f"{who(ctx.sender)}'s adoption of your project {title(project)} is now "
            f"{adoption.status}"
        )
        await notify(
            ctx.session,
            Kind.ADOPTION_UPDATE,
            summary,
            actor=ctx.sender,
            obj=existing,
            link=project.ap_id,
        )


async def _from_origin(ctx: Context, row: Object) -> bool:
    """Whether the sender owns the project our adoption ``row`` adopts."""
    project = await object_queries.by_ap_id(ctx.session, row.target or "")
    if project is not None:
        return project.actor_id == ctx.sender.id
    # No copy of the project (should not happen: adopting keeps one): the origin is in ``cc``.
    return ctx.sender.ap_id in (row.document.get("cc") or [])


async def on_answer(ctx: Context, *, accepted: bool) -> bool:
    """Accept/Reject of a Create{Adoption} we sent; False when it answers something else."""
    answered = id_of(ctx.activity.get("object"))
    row = await object_queries.by_activity(ctx.session, answered, ADOPTION) if answered else None
    if row is None or not row.local:
        return False
    if not await _from_origin(ctx, row):
        raise Refuse("only the adopted project's owner may answer an adoption")
    ADOPTION_GRAPH.move(row, AnswerState.ACCEPTED if accepted else AnswerState.REJECTED)
    log.info("adoption %s %s by %s", row.ap_id, row.state, ctx.sender.ap_id)
    return True
