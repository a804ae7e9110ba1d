"""API /admin: peers and their policy, the federation mode, the audit log, the delivery queue.

Every route needs an admin token (editors get 403); every change goes through ``actions/`` and is
written to the audit log with the token's name as "who".
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from aiohttp import web

from cityfed.actions import deliveries as delivery_actions
from cityfed.actions import peers as peer_actions
from cityfed.api.common import ApiError, json_body, page_of, paged, paging, reply, require
from cityfed.appkeys import NODE
from cityfed.federation.nodeinfo_probe import refresh_software
from cityfed.models import peers as peer_queries
from cityfed.models.peers import QUEUE_STATES, STATE_NAMES
from cityfed.models.tables import Activity, AuditEntry, Delivery
from cityfed.models.types import utcnow
from cityfed.node import Node
from cityfed.urls import API_PREFIX

# A PUT asks the peer's NodeInfo at most this long: the admin waits for the answer.
PROBE_SECONDS = 5.0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _one_peer(node: Node, domain: str) -> dict[str, Any]:
    async with node.db.session() as session:
        found = await peer_queries.overview(session, domain)
    if not found:
        raise ApiError(404, f"{domain} is not a known peer")
    return found[0].to_json(utcnow())


def _domain(request: web.Request) -> str:
    try:
        return peer_actions.normalize_domain(request.match_info["domain"])
    except peer_actions.PolicyError as exc:
        raise ApiError.refused(exc) from None


# --- peers --------------------------------------------------------------------------------------


async def list_peers(request: web.Request) -> web.Response:
    require(request, "admin")
    policy = request.query.get("policy")
    if policy is not None and policy not in (*peer_actions.POLICIES, "none"):
        raise ApiError(422, "policy: trusted, allowed, blocked or none")
    async with request.app[NODE].db.session() as session:
        peers = await peer_queries.overview(session)
    if policy is not None:
        wanted = None if policy == "none" else policy
        peers = [peer for peer in peers if peer.policy == wanted]
    now = utcnow()
    return page_of(request, [peer.to_json(now) for peer in peers])


async def get_peer(request: web.Request) -> web.Response:
    require(request, "admin")
    return reply(await _one_peer(request.app[NODE], _domain(request)))


async def put_peer(request: web.Request) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    policy, note = body.get("policy"), body.get("note")
    if policy not in peer_actions.POLICIES:
        raise ApiError(422, f"policy: one of {', '.join(peer_actions.POLICIES)}")
    if note is not None and not isinstance(note, str):
        raise ApiError(422, "note: expected a string")
    node = request.app[NODE]
    try:
        change = await peer_actions.set_policy(node, _domain(request), policy, note, token.name)
    except peer_actions.PolicyError as exc:
        raise ApiError.refused(exc) from None
    if policy != "blocked":
        # Best effort: the peer's software for the view; a slow or silent peer leaves it unknown.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(refresh_software(node, change.domain), PROBE_SECONDS)
    return reply(await _one_peer(node, change.domain))


async def delete_peer(request: web.Request) -> web.Response:
    token = require(request, "admin")
    node = request.app[NODE]
    try:
        await peer_actions.set_policy(node, _domain(request), None, None, token.name)
    except peer_actions.PolicyError as exc:
        raise ApiError.refused(exc, 404) from None
    return web.Response(status=204)


# --- federation mode ----------------------------------------------------------------------------


async def get_federation(request: web.Request) -> web.Response:
    require(request, "admin")
    node = request.app[NODE]
    mode = await peer_actions.federation_mode(node)
    return reply({"mode": mode, "default": node.policy.default_mode})


async def put_federation(request: web.Request) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    node = request.app[NODE]
    mode = body.get("mode")
    if not isinstance(mode, str):
        raise ApiError(422, f"mode: one of {', '.join(peer_actions.MODES)}")
    try:
        previous = await peer_actions.set_federation_mode(node, mode, token.name)
    except peer_actions.PolicyError as exc:
        raise ApiError.refused(exc) from None
    return reply({"mode": mode, "previous": previous})


# --- audit log ----------------------------------------------------------------------------------


def _audit(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "who": entry.who,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }


async def audit(request: web.Request) -> web.Response:
    require(request, "admin")
    page, per_page = paging(request)
    async with request.app[NODE].db.session() as session:
        entries, total = await peer_queries.audit_page(
            session, offset=(page - 1) * per_page, limit=per_page
        )
    return paged(total, page, [_audit(e) for e in entries])


# --- delivery queue -----------------------------------------------------------------------------


def _delivery(row: Delivery, activity: Activity) -> dict[str, Any]:
    return {
        "id": row.id,
        "activity": activity.ap_id,
        "type": activity.type,
        "inbox": row.inbox,
        "domain": row.domain,
        "state": STATE_NAMES.get(row.state, row.state),
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": _iso(row.created_at),
        "finished_at": _iso(row.finished_at),
    }


async def list_deliveries(request: web.Request) -> web.Response:
    require(request, "admin")
    state = request.query.get("state")
    if state is not None and state not in QUEUE_STATES:
        raise ApiError(422, f"state: one of {', '.join(QUEUE_STATES)}")
    domain = request.query.get("domain")
    if domain is not None:
        try:
            domain = peer_actions.normalize_domain(domain)
        except peer_actions.PolicyError as exc:
            raise ApiError.refused(exc) from None
    page, per_page = paging(request)
    async with request.app[NODE].db.session() as session:
        rows, total = await peer_queries.deliveries(
            session,
            [QUEUE_STATES[state]] if state else list(QUEUE_STATES.values()),
            domain=domain,
            offset=(page - 1) * per_page,
            limit=per_page,
        )
    items = [_delivery(row, activity) for row, activity in rows]
    return paged(total, page, items, state=state)


async def delivery_summary(request: web.Request) -> web.Response:
    require(request, "admin")
    async with request.app[NODE].db.session() as session:
        summary = await peer_queries.delivery_summary(session)
    return page_of(
        request,
        [
            {
                "domain": domain,
                **{name: counts.get(state, 0) for state, name in STATE_NAMES.items()},
            }
            for domain, counts in summary.items()
        ],
    )


async def _dead_rows(request: web.Request, *, retry: bool) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    ids, domain = body.get("ids"), body.get("domain")
    if ids is not None and not isinstance(ids, list):
        raise ApiError(422, "ids: expected a list of delivery ids")
    if domain is not None and not isinstance(domain, str):
        raise ApiError(422, "domain: expected a string")
    action = delivery_actions.retry if retry else delivery_actions.drop
    try:
        count = await action(request.app[NODE], token.name, ids=ids, domain=domain)
    except delivery_actions.SelectionError as exc:
        raise ApiError.refused(exc) from None
    return reply({"retried" if retry else "dropped": count})


async def retry_deliveries(request: web.Request) -> web.Response:
    return await _dead_rows(request, retry=True)


async def drop_deliveries(request: web.Request) -> web.Response:
    return await _dead_rows(request, retry=False)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{API_PREFIX}/admin/peers", list_peers)
    app.router.add_get(f"{API_PREFIX}/admin/peers/{{domain}}", get_peer)
    app.router.add_put(f"{API_PREFIX}/admin/peers/{{domain}}", put_peer)
    app.router.add_delete(f"{API_PREFIX}/admin/peers/{{domain}}", delete_peer)
    app.router.add_get(f"{API_PREFIX}/admin/federation", get_federation)
    app.router.add_put(f"{API_PREFIX}/admin/federation", put_federation)
    app.router.add_get(f"{API_PREFIX}/admin/audit", audit)
    app.router.add_get(f"{API_PREFIX}/admin/deliveries", list_deliveries)
    app.router.add_get(f"{API_PREFIX}/admin/deliveries/summary", delivery_summary)
    app.router.add_post(f"{API_PREFIX}/admin/deliveries/retry", retry_deliveries)
    app.router.add_post(f"{API_PREFIX}/admin/deliveries/drop", drop_deliveries)
