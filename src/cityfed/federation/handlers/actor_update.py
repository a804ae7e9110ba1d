"""An actor updating or deleting itself: refresh the stored copy and keys, or forget it."""

from __future__ import annotations

import logging

from cityfed.activitypub.actor import ActorParseError, RemoteActor
from cityfed.activitypub.timefmt import parse_datetime
from cityfed.activitypub.vocab.common import id_of
from cityfed.federation.handlers.base import Context, Ignore, Refuse
from cityfed.federation.notify import notify, who
from cityfed.models import follows as follow_queries
from cityfed.models import remote_actors
from cityfed.models.notifications import Kind

log = logging.getLogger("cityfed.handlers.actor")


async def update(ctx: Context) -> None:
    obj = ctx.activity.get("object")
    if not isinstance(obj, dict) or id_of(obj) != ctx.sender.ap_id:
        raise Ignore("Update of an actor that is not embedded or not the sender")
    try:
        remote = RemoteActor.from_ap(obj)
    except ActorParseError as exc:
        raise Refuse(f"Update with an unusable actor: {exc}") from None
    # Deliveries are not ordered: an Update older than the copy we hold must not undo a newer
    # one (a profile changed twice in a row). Actors that send no ``updated`` are taken as sent.
    known = ctx.sender.document or {}
    if remote.updated is not None and isinstance(known.get("updated"), str):
        try:
            stale = remote.updated < parse_datetime(known["updated"])
        except ValueError:
            stale = False
        if stale:
            raise Ignore(f"Update of {ctx.sender.ap_id} older than the copy we hold")
    before = await remote_actors.rsa_key_ids(ctx.session, ctx.sender.id)
    await remote_actors.upsert(ctx.session, remote, obj)
    # Keys may have rotated: the next signature check must not use a stale parsed key.
    ctx.node.remote_keys.forget_owner(ctx.sender.ap_id)
    log.info("actor %s updated itself (%d keys)", ctx.sender.ap_id, len(remote.public_keys))
    after = await remote_actors.rsa_key_ids(ctx.session, ctx.sender.id)
    # A partner (a city we follow) rotating its key is worth a look: staff may want to check
    # with the partner that the rotation was theirs.
    if before and after != before and await follow_queries.is_followed(ctx.session, ctx.sender.id):
        await notify(
            ctx.session,
            Kind.KEY_ROTATION,
            f"{who(ctx.sender)} rotated its signing key",
            actor=ctx.sender,
            link=ctx.sender.ap_id,
        )


async def delete_actor(ctx: Context) -> None:
    await follow_queries.drop_follows_of_actor(ctx.session, ctx.sender.id)
    ctx.node.remote_keys.forget_owner(ctx.sender.ap_id)
    log.info("actor %s deleted itself; its follows are gone", ctx.sender.ap_id)
