"""The Jinja2 environment (autoescaping, packaged templates) and a render helper for handlers."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web


def create_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cityfed.web", "templates"),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )


def render(
    env: jinja2.Environment,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> web.Response:
    body = env.get_template(template).render(**context)
    response = web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=headers
    )
    response.headers["Vary"] = "Accept"
    return response
