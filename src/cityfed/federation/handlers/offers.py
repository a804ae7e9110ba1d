"""Offer{SolutionOffer} to one of our challenges, and the owner's Accept/Reject of one we sent.

At the challenge's owner the offer is stored ``pending`` with the Offer's id (its Accept/Reject
names that id) until staff answer it through the API. At the offerer an Accept or Reject of our
Offer sets the offer's state, but only when it comes from the challenge's owner; the answer itself
is kept in ``activities`` so the API can show a rejection's reason.
"""

from __future__ import annotations

import logging
from typing import Any

from cityfed.activitypub.actor import authority
from cityfed.activitypub.vocab.common import has_type, id_of, read_as_default
from cityfed.activitypub.vocab.cooperation import SolutionOffer
from cityfed.federation.handlers.adoptions import clean
from cityfed.federation.handlers.base import (
    Context,
    Handler,
    Ignore,
    Refuse,
    dereference_object,
    screen_reference,
)
from cityfed.federation.notify import notify, title, who
from cityfed.models import activities as activity_queries
from cityfed.models import objects as object_queries
from cityfed.models.notifications import Kind
from cityfed.models.states import OFFER_GRAPH, AnswerState
from cityfed.models.tables import Activity, Object
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.handlers.offers")

SOLUTION_OFFER = "SolutionOffer"


async def prepare(node: Node, activity: dict[str, Any]) -> None:
    """An Offer that names its SolutionOffer by id only: fetch it from its origin first."""
    await dereference_object(node, activity)


def _read(ctx: Context) -> tuple[SolutionOffer, dict[str, Any]]:
    obj = ctx.activity.get("object")
    if not isinstance(obj, dict):
        raise Ignore("Offer without an object")
    context = ctx.activity.get("@context")
    try:
        # Read in our shape first (pyld only for unfamiliar contexts), so a SolutionOffer under
        # another prefix is still recognised.
        plain = read_as_default(obj, context=context)
    except ValueError as exc:
        raise Refuse(f"unreadable offer: {exc}") from None
    if not has_type(plain, SolutionOffer.CF_TYPE):
        raise Ignore("Offer of something other than a SolutionOffer")
    try:
        offer = SolutionOffer.from_plain(plain)
    except ValueError as exc:
        raise Refuse(f"invalid solution offer: {exc}") from None
    sender = ctx.sender
    if offer.attributed_to != sender.ap_id:
        raise Refuse(f"{offer.id} is not attributed to {sender.ap_id}")
    for name, ap_id in (("id", offer.id), ("cf:solution", offer.solution)):
        if authority(ap_id) != sender.domain:
            raise Refuse(f"{name} {ap_id} is not on {sender.domain}")
    target = id_of(ctx.activity.get("target"))
    if target is not None and target != offer.challenge:
        raise Refuse("the Offer's target is not the offer's challenge")
    return offer, clean(plain)


async def apply(ctx: Context) -> None:
    if not ctx.node.policy.may_write(ctx.sender.domain):
        raise Ignore(f"offers from {ctx.sender.domain} are not accepted (federation policy)")
    offer, plain = _read(ctx)
    challenge = await object_queries.by_ap_id(ctx.session, offer.challenge)
    if (
        challenge is None
        or not challenge.local
        or challenge.type != "Challenge"
        or challenge.deleted_at is not None
    ):
        raise Ignore(f"offer for {offer.challenge}, which is not one of our challenges")
    if await object_queries.by_ap_id(ctx.session, offer.id) is not None:
        raise Ignore(f"{offer.id} is known already")
    for earlier in await object_queries.targeting(ctx.session, SOLUTION_OFFER, offer.challenge):
        if (
            earlier.actor_id == ctx.sender.id
            and id_of(earlier.document.get("cf:solution")) == offer.solution
            and earlier.state != AnswerState.REJECTED
        ):
            raise Ignore(f"{offer.solution} is already offered for {offer.challenge}")
    row = Object(
        ap_id=offer.id,
        type=SOLUTION_OFFER,
        actor_id=ctx.sender.id,
        local=False,
        document=plain,
        published=offer.published or utcnow(),
        target=offer.challenge,
        state=AnswerState.PENDING,
        activity_ap_id=ctx.activity["id"],
    )
    ctx.session.add(row)
    await ctx.session.flush()
    log.info("offer %s of %s for %s", offer.id, offer.solution, offer.challenge)
    project = await object_queries.by_ap_id(ctx.session, offer.solution)
    await notify(
        ctx.session,
        Kind.OFFER,
        f"{who(ctx.sender)} offered "
        f"{title(project) if project else f'a project ({offer.solution})'} as a "
        f"solution for your challenge {title(challenge)}",
        actor=ctx.sender,
        obj=row,
        link=challenge.ap_id,
    )


async def _from_owner(ctx: Context, row: Object) -> bool:
    """Whether the sender owns the challenge our offer ``row`` was made for."""
    challenge = await object_queries.by_ap_id(ctx.session, row.target or "")
    if challenge is not None:
        return challenge.actor_id == ctx.sender.id
    # No copy of the challenge (should not happen: offering keeps one): we addressed the owner.
    return ctx.sender.ap_id in (row.document.get("to") or [])


async def _keep_answer(ctx: Context, answered: str) -> None:
    ap_id = id_of(ctx.activity.get("id"))
    if not ap_id or await activity_queries.is_known(ctx.session, ap_id):
        return
    kind = ctx.activity.get("type")
    ctx.session.add(
        Activity(
            ap_id=ap_id,
            type=kind if isinstance(kind, str) else "Accept",
            actor_id=ctx.sender.id,
            object_ap_id=answered,
            local=False,
            public=False,
            body=ctx.raw,
            created_at=utcnow(),
        )
    )


async def on_answer(ctx: Context, *, accepted: bool) -> bool:
    """Accept/Reject of an Offer we sent; False when it answers something else."""
    answered = id_of(ctx.activity.get("object"))
    row = (
        await object_queries.by_activity(ctx.session, answered, SOLUTION_OFFER)
        if answered
        else None
    )
    if row is None or not row.local:
        return False
    if not await _from_owner(ctx, row):
        raise Refuse("only the challenge's owner may answer an offer")
    if not OFFER_GRAPH.allows(row.state, AnswerState.ACCEPTED):
        raise Ignore(f"offer {row.ap_id} is already {row.state}")
    OFFER_GRAPH.move(row, AnswerState.ACCEPTED if accepted else AnswerState.REJECTED)
    await _keep_answer(ctx, answered or "")
    log.info("offer %s %s by %s", row.ap_id, row.state, ctx.sender.ap_id)
    challenge = await object_queries.by_ap_id(ctx.session, row.target or "")
    await notify(
        ctx.session,
        Kind.OFFER_ANSWER,
        f"{who(ctx.sender)} {row.state} your offer for {title(challenge)}",
        actor=ctx.sender,
        obj=row,
        link=row.target,
    )
    return True


HANDLER = Handler(apply=apply, prepare=prepare, screen=screen_reference)
