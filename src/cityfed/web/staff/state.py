"""What the staff middleware learns about a request (who, which language, which CSRF token),
kept on the request under typed keys for handlers and templates."""

from __future__ import annotations

from aiohttp import web

from cityfed.models.tables import Actor, StaffSession, StaffUser
from cityfed.web.staff.i18n import Translator

USER: web.RequestKey[StaffUser] = web.RequestKey("staff_user", StaffUser)
SESSION: web.RequestKey[StaffSession] = web.RequestKey("staff_session", StaffSession)
SESSION_TOKEN: web.RequestKey[str] = web.RequestKey("staff_session_token", str)
# The local city the staff act for (looked up once per request, for handlers and the header).
CITY: web.RequestKey[Actor] = web.RequestKey("staff_city", Actor)
# The signed-in member's unread notifications, for the count on every page.
UNREAD: web.RequestKey[int] = web.RequestKey("staff_unread", int)
TRANSLATOR: web.RequestKey[Translator] = web.RequestKey("staff_translator", Translator)
# The login form's CSRF value (a cookie of its own: there is no session yet to bind it to).
LOGIN_CSRF: web.RequestKey[str] = web.RequestKey("staff_login_csrf", str)

PREFIX = "/staff"
LOGIN_PATH = "/staff/login"


def user_of(request: web.Request) -> StaffUser | None:
    return request.get(USER)


def translator(request: web.Request) -> Translator:
    return request.get(TRANSLATOR) or Translator("en")


def csrf_token(request: web.Request) -> str:
    """The value every form on this page must send back in its ``csrf`` field."""
    session = request.get(SESSION)
    if session is not None and request.path != LOGIN_PATH:
        return session.csrf_secret
    return request.get(LOGIN_CSRF, "")


def who(request: web.Request) -> str:
    """The audit log's "who" for a staff action (the API uses the token's name, the CLI the OS
    user)."""
    user = request[USER]
    return f"staff:{user.email}"
