"""API /reports (staff report a remote actor) and /admin/reports (the queue, §8).

Reports are anonymous: what is served here never names who at a node reported, because nothing
about the reporter is stored (see ``cityfed.actions.reports``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cityfed.actions import reports as report_actions
from cityfed.api.common import ApiError, field, json_body, paged, paging, reply, require
from cityfed.appkeys import NODE
from cityfed.models import reports as report_queries
from cityfed.models.tables import Report
from cityfed.urls import API_PREFIX

DIRECTIONS = {"received": "received", "sent": "sent", "all": None}


def view(row: Report) -> dict[str, Any]:
    return {
        "id": row.id,
        "activity": row.activity_ap_id,
        "direction": row.direction,
        "state": "resolved" if row.resolved_at is not None else "open",
        "origin_domain": row.origin_domain,
        "target_actor": row.target_actor,
        "objects": list((row.objects or {}).get("ids") or []),
        "content": row.content,
        "created_at": row.created_at.isoformat(),
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "resolved_by": row.resolved_by,
        "resolution_note": row.resolution_note,
    }


async def create_report(request: web.Request) -> web.Response:
    # City staff report abuse they meet; an editor token is enough for that.
    require(request, "editor")
    body = await json_body(request)
    target = field(body, "actor")
    content = field(body, "content")
    objects = field(body, "objects", list, required=False) or []
    if not all(isinstance(item, str) and item.strip() for item in objects):
        raise ApiError(422, "objects: expected a list of object ids")
    try:
        row = await report_actions.report(request.app[NODE], target, content, objects)
    except report_actions.ReportError as exc:
        raise ApiError.refused(exc) from None
    return reply(view(row), 201)


async def list_reports(request: web.Request) -> web.Response:
    require(request, "admin")
    state = request.query.get("state", "open")
    if state not in report_queries.STATES:
        raise ApiError(422, "state: expected open, resolved or all")
    direction_name = request.query.get("direction", "received")
    if direction_name not in DIRECTIONS:
        raise ApiError(422, "direction: expected received, sent or all")
    direction = DIRECTIONS[direction_name]
    page, per_page = paging(request)
    async with request.app[NODE].db.session() as session:
        rows = await report_queries.page(
            session,
            direction=direction,
            state=state,
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        total = await report_queries.count(session, direction=direction, state=state)
    return paged(total, page, [view(row) for row in rows])


def _report_id(request: web.Request) -> int:
    # The route only matches digits; the bound keeps a huge number from reaching the database.
    report_id = int(request.match_info["report_id"])
    if report_id > 2**31 - 1:
        raise ApiError(404, "no such report")
    return report_id


async def get_report(request: web.Request) -> web.Response:
    require(request, "admin")
    async with request.app[NODE].db.session() as session:
        row = await report_queries.by_id(session, _report_id(request))
    if row is None:
        raise ApiError(404, "no such report")
    return reply(view(row))


async def resolve_report(request: web.Request) -> web.Response:
    token = require(request, "admin")
    body = await json_body(request)
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise ApiError(422, "note: expected a string")
    try:
        resolution = await report_actions.resolve(
            request.app[NODE], _report_id(request), who=token.name, note=note
        )
    except report_actions.ReportNotFound:
        raise ApiError(404, "no such report") from None
    except report_actions.AlreadyResolved as exc:
        raise ApiError(409, str(exc)) from None
    except report_actions.ReportError as exc:
        raise ApiError.refused(exc) from None
    return reply(view(resolution.report))


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{API_PREFIX}/reports", create_report)
    app.router.add_get(f"{API_PREFIX}/admin/reports", list_reports)
    app.router.add_get(rf"{API_PREFIX}/admin/reports/{{report_id:\d+}}", get_report)
    app.router.add_post(rf"{API_PREFIX}/admin/reports/{{report_id:\d+}}/resolve", resolve_report)
