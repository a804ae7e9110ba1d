"""Reporting a city (or some of its objects) to its node: ``actions.reports.report``, the action
behind ``POST /api/cityfed/v1/reports``. The report leaves anonymously, from the instance actor."""

from __future__ import annotations

from aiohttp import web

from cityfed.actions import reports as report_actions
from cityfed.appkeys import NODE
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import form, text
from cityfed.web.staff.render import page, redirect


@requires("editor")
async def report_form(request: web.Request) -> web.StreamResponse:
    values = {"actor": request.query.get("actor", ""), "objects": request.query.get("object", "")}
    return page(request, "report.html", values=values, error=None)


@requires("editor")
async def report(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    objects = [line.strip() for line in data.get("objects", "").splitlines() if line.strip()]
    try:
        await report_actions.report(
            request.app[NODE], text(data, "actor"), data.get("content", ""), objects
        )
    except report_actions.ReportError as exc:
        return page(request, "report.html", status=422, values=data, error=str(exc))
    return redirect("/staff/report", done="reported")
