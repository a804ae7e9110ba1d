"""Following: our city follows a remote one, unfollows, and answers follow requests.

Each function changes the follow rows and enqueues the activity that tells the other side, in the
caller's transaction (the outbox rule of §3): either both happen or neither.
"""

from __future__ import annotations

import logging

from cityfed.actions.errors import DOMAIN_BLOCKED, ActionError, Problem
from cityfed.activitypub.webfinger import WebfingerError, parse_account
from cityfed.federation import outbox
from cityfed.federation.follow_answer import answer_follow, follow_activity
from cityfed.federation.remote import ResolveError, resolve_reference
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models.states import FollowState
from cityfed.models.tables import Actor, Follow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.follows")


NOT_AN_ACCOUNT = Problem(
    "not_an_account", "{target!r} is neither an account like name@city.example nor an actor URL"
)


class FollowError(ActionError):
    """The follow request cannot be made; the message says why (shown to the user)."""


async def resolve_target(node: Node, target: str) -> Actor:
    """``handle@host``, ``@handle@host`` or an actor URL → the remote actor (network, no tx).
    A FollowError names ``account``, the field the target came from."""
    target = target.strip()
    if not target.startswith(("https://", "http://")):
        try:
            parse_account(target)
        except WebfingerError:
            raise FollowError(NOT_AN_ACCOUNT, field="account", target=target) from None
    try:
        return await resolve_reference(node, target)
    except ResolveError as exc:
        raise FollowError(f"cannot find {target}: {exc}", field="account") from None


async def follow(node: Node, follower: Actor, target: str) -> Follow:
    """Ask a remote actor to let our city follow it. Pending until its Accept arrives."""
    remote = await resolve_target(node, target)
    if remote.local:
        raise FollowError("cannot follow an actor of this node", field="account")
    if node.policy.is_blocked(remote.domain):
        raise FollowError(DOMAIN_BLOCKED, field="account", domain=remote.domain)
    async with node.db.transaction() as session:
        existing = await follow_queries.find(session, follower.id, remote.id)
        if existing is not None and existing.state in {FollowState.PENDING, FollowState.ACCEPTED}:
            return existing
        if existing is not None:
            await session.delete(existing)
            await session.flush()
        row = Follow(
            follower_id=follower.id,
            followee_id=remote.id,
            activity_ap_id=node.urls.new_activity_id(),
            state=FollowState.PENDING,
        )
        session.add(row)
        await session.flush()
        await outbox.enqueue(
            session,
            node,
            follower,
            follow_activity(row, follower, remote),
            [remote.inbox or ""],
            public=False,
        )
    outbox.kick(node)
    log.info("@%s asked to follow %s", follower.handle, remote.ap_id)
    return row


async def unfollow(node: Node, follower: Actor, followee_ap_id: str) -> bool:
    async with node.db.transaction() as session:
        row = await follow_queries.following_of(session, follower.id, followee_ap_id)
        if row is None:
            return False
        remote = await actor_queries.actor_by_id(session, row.followee_id)
        assert remote is not None
        undo = {
            "id": node.urls.new_activity_id(),
            "type": "Undo",
            "actor": follower.ap_id,
            "object": follow_activity(row, follower, remote),
            "to": [remote.ap_id],
        }
        await session.delete(row)
        await outbox.enqueue(session, node, follower, undo, [remote.inbox or ""], public=False)
    outbox.kick(node)
    return True


async def decide_follower(
    node: Node, followee: Actor, follower_ap_id: str, *, accept: bool
) -> bool:
    """Approve or reject a pending follower (manual approval)."""
    async with node.db.transaction() as session:
        row = await follow_queries.follower_of(session, followee.id, follower_ap_id)
        if row is None or (accept and row.state == FollowState.ACCEPTED):
            return row is not None
        await answer_follow(session, node, row, accept=accept)
    outbox.kick(node)
    return True
