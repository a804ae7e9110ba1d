"""Administration: peers and the federation mode, the delivery queue, received reports, the audit
log, key rotation and comment moderation; the same actions as ``/api/cityfed/v1/admin``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from cityfed.actions import deliveries as delivery_actions
from cityfed.actions import keys as key_actions
from cityfed.actions import moderation
from cityfed.actions import peers as peer_actions
from cityfed.actions import reports as report_actions
from cityfed.appkeys import NODE
from cityfed.models import actors as actor_queries
from cityfed.models import comments as comment_queries
from cityfed.models import peers as peer_queries
from cityfed.models import reports as report_queries
from cityfed.models.states import CommentState
from cityfed.models.types import utcnow
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import city, form, text
from cityfed.web.staff.i18n import Shown
from cityfed.web.staff.render import page, redirect
from cityfed.web.staff.state import translator, who

PAGE_SIZE = 50


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1


# --- peers and the federation mode --------------------------------------------------------------


async def _peers_page(
    request: web.Request, *, status: int = 200, errors: dict[str, Shown] | None = None
) -> web.Response:
    node = request.app[NODE]
    mode = await peer_actions.federation_mode(node)
    async with node.db.session() as session:
        peers = await peer_queries.overview(session)
    return page(
        request,
        "admin_peers.html",
        status=status,
        available=True,
        peers=peers,
        mode=mode,
        modes=peer_actions.MODES,
        policies=peer_actions.POLICIES,
        now=utcnow(),
        errors=errors or {},
    )


@requires("admin")
async def peers(request: web.Request) -> web.StreamResponse:
    return await _peers_page(request)


@requires("admin")
async def set_peer_policy(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    policy = text(data, "policy") or None
    try:
        await peer_actions.set_policy(
            request.app[NODE], text(data, "domain"), policy, text(data, "note"), who(request)
        )
    except peer_actions.PolicyError as exc:
        return await _peers_page(request, status=422, errors={"domain": exc})
    return redirect("/staff/admin/peers", done="policy_saved")


@requires("admin")
async def set_mode(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    try:
        await peer_actions.set_federation_mode(request.app[NODE], text(data, "mode"), who(request))
    except peer_actions.PolicyError as exc:
        return await _peers_page(request, status=422, errors={"mode": exc})
    return redirect("/staff/admin/peers", done="mode_saved")


# --- the delivery queue -------------------------------------------------------------------------


async def _deliveries_page(
    request: web.Request, *, status: int = 200, error: str | None = None
) -> web.Response:
    states: dict[str, str] = peer_queries.QUEUE_STATES
    state = request.query.get("state", "")
    state = state if state in states else ""
    number = _page_number(request)
    async with request.app[NODE].db.session() as session:
        rows, total = await peer_queries.deliveries(
            session,
            [states[state]] if state else list(states.values()),
            offset=(number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        summary = await peer_queries.delivery_summary(session)
    return page(
        request,
        "admin_deliveries.html",
        status=status,
        available=True,
        rows=rows,
        total=total,
        summary=summary,
        state=state,
        states=list(states),
        number=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        error=error,
    )


@requires("admin")
async def deliveries(request: web.Request) -> web.StreamResponse:
    return await _deliveries_page(request)


@requires("admin")
async def dead_deliveries(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    ids = [int(v) for v in data.getall("ids", []) if isinstance(v, str) and v.isdigit()]
    domain = data.get("domain") if isinstance(data.get("domain"), str) else None
    retry = data.get("action") != "drop"
    action = delivery_actions.retry if retry else delivery_actions.drop
    selection: dict[str, Any] = {"domain": domain} if domain else {"ids": ids or None}
    if not domain and not ids:
        _ = translator(request)
        message = _("Select at least one dead delivery.")
        return await _deliveries_page(request, status=422, error=message)
    try:
        await action(request.app[NODE], who(request), **selection)
    except delivery_actions.SelectionError as exc:
        return await _deliveries_page(request, status=422, error=str(exc))
    done = "deliveries_retried" if retry else "deliveries_dropped"
    return redirect("/staff/admin/deliveries", done=done, state="dead")


# --- reports ------------------------------------------------------------------------------------


async def _reports_page(
    request: web.Request, *, status: int = 200, errors: dict[int, str] | None = None
) -> web.Response:
    state = request.query.get("state", "open")
    state = state if state in report_queries.STATES else "open"
    direction = request.query.get("direction", "received")
    direction = direction if direction in ("received", "sent") else "received"
    async with request.app[NODE].db.session() as session:
        rows = await report_queries.page(
            session, direction=direction, state=state, offset=0, limit=200
        )
    return page(
        request,
        "admin_reports.html",
        status=status,
        rows=rows,
        state=state,
        direction=direction,
        errors=errors or {},
    )


@requires("admin")
async def reports(request: web.Request) -> web.StreamResponse:
    return await _reports_page(request)


@requires("admin")
async def resolve_report(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    raw = text(data, "id")
    report_id = int(raw) if raw.isdigit() and int(raw) < 2**31 else 0
    try:
        await report_actions.resolve(
            request.app[NODE], report_id, who=who(request), note=data.get("note")
        )
    except report_actions.ReportNotFound:
        _ = translator(request)
        message = _("No such report.")
        return await _reports_page(request, status=404, errors={report_id: message})
    except report_actions.ReportError as exc:
        return await _reports_page(request, status=422, errors={report_id: str(exc)})
    return redirect("/staff/admin/reports", done="report_resolved")


# --- audit log ----------------------------------------------------------------------------------


@requires("admin")
async def audit(request: web.Request) -> web.StreamResponse:
    number = _page_number(request)
    async with request.app[NODE].db.session() as session:
        entries, total = await peer_queries.audit_page(
            session, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    return page(
        request,
        "admin_audit.html",
        available=True,
        entries=entries,
        total=total,
        number=number,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


# --- keys ---------------------------------------------------------------------------------------


async def _keys_page(
    request: web.Request, *, status: int = 200, error: str | None = None
) -> web.Response:
    async with request.app[NODE].db.session() as session:
        rows = await actor_queries.local_keys(session)
    return page(request, "admin_keys.html", status=status, rows=rows, error=error)


@requires("admin")
async def keys(request: web.Request) -> web.StreamResponse:
    return await _keys_page(request)


@requires("admin")
async def rotate_keys(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    data = await form(request)
    try:
        grace = float(text(data, "grace_days") or "7")
    except ValueError:
        grace = -1.0
    if not 0 <= grace <= 365:
        return await _keys_page(
            request, status=422, error=_("Give the grace period in days, from 0 to 365.")
        )
    me = await city(request)
    try:
        await key_actions.rotate(
            request.app[NODE], me, who=who(request), grace=timedelta(days=grace)
        )
    except key_actions.RotationError as exc:
        return await _keys_page(request, status=409, error=str(exc))
    return redirect("/staff/admin/keys", done="keys_rotated")


# --- comment moderation -------------------------------------------------------------------------


async def _moderation_page(
    request: web.Request, *, status: int = 200, error: str | None = None
) -> web.Response:
    asked = request.query.get("state", "")
    state = CommentState(asked) if asked in tuple(CommentState) else CommentState.HELD
    me = await city(request)
    async with request.app[NODE].db.session() as session:
        rows = await comment_queries.held_comments(session, state)
    return page(
        request,
        "admin_moderation.html",
        status=status,
        rows=rows,
        state=state,
        me=me,
        error=error,
    )


@requires("admin")
async def moderation_queue(request: web.Request) -> web.StreamResponse:
    return await _moderation_page(request)


@requires("admin")
async def decide_comment(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    try:
        await moderation.decide(
            request.app[NODE],
            text(data, "id"),
            approve=data.get("decision") == "approve",
            who=who(request),
            note=text(data, "note") or None,
        )
    except moderation.ModerationError:
        _ = translator(request)
        message = _("No such comment on our threads.")
        return await _moderation_page(request, status=404, error=message)
    return redirect("/staff/admin/moderation", done="comment_decided")


@requires("admin")
async def moderation_policy(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    me = await city(request)
    await moderation.set_policy(
        request.app[NODE], me, hold=data.get("hold") == "on", who=who(request)
    )
    return redirect("/staff/admin/moderation", done="moderation_saved")
