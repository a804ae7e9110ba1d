"""The application key under which the Jinja2 environment is kept."""

from __future__ import annotations

import jinja2
from aiohttp import web

TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
