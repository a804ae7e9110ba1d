"""The staff pages under /staff/: a browser face over actions/ for city staff and admins.

Server-rendered (Jinja2), usable without JavaScript, in English and German. Every form posts to a
handler that calls the same ``cityfed.actions`` function as the REST API (§2: one code path per
action); the handlers only map form fields to that function's arguments and render the outcome.
``setup(app)`` installs the routes and the sign-in/CSRF middleware.
"""

from __future__ import annotations

from cityfed.web.staff.routes import setup

__all__ = ["setup"]
