"""The Jinja2 environment (autoescaping, packaged templates) and a render helper for handlers."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from cityfed.web import filters
from cityfed.web.media import page_media


def create_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cityfed.web", "templates"),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        # gettext in templates: ``{% trans %}`` and ``_()`` take the ``gettext``/``ngettext``/``_``
        # of the page's language from its context (web/staff/i18n.py).
        extensions=["jinja2.ext.i18n"],
    )
    env.filters.update(
        isodate=filters.iso_date,
        isotime=filters.iso_datetime,
        language_name=filters.language_name,
        web_url=filters.web_url,
        safe_url=filters.safe_url,
        tag_path=filters.tag_path,
    )
    env.globals.update(ui_attr=filters.ui_attr, page_media=page_media)
    return env


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


def render_error(
    env: jinja2.Environment, status: int, title: str, message: str, **context: Any
) -> web.Response:
    """An HTML error page. Returned, not raised: the app turns raised HTTP errors into JSON,
    which is right for machines but not for a person who followed a link."""
    return render(env, "error.html", status=status, title=title, message=message, **context)
