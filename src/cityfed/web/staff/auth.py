"""Who is signed in, forged-request protection and access rules for everything under /staff/.

- Session: a random token in an HttpOnly, SameSite=Lax cookie (Secure, and ``__Host-`` prefixed,
  when the node is served over https); the database keeps only its hash (actions/users.py).
- CSRF: every POST carries the session's secret in a hidden ``csrf`` field, compared in constant
  time; the login form, which has no session yet, uses a cookie of its own (double submit). An
  ``Origin`` header, which browsers send with every POST, must be this node's.
- Access: ``@requires("editor")`` / ``@requires("admin")`` on each handler. Signed-out visitors
  are sent to the login page; editors get 403 on admin pages.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from cityfed.actions import notifications as notification_actions
from cityfed.actions import users as user_actions
from cityfed.appkeys import NODE
from cityfed.config import Settings
from cityfed.node import Node
from cityfed.web.staff import i18n
from cityfed.web.staff.common import city
from cityfed.web.staff.i18n import N_
from cityfed.web.staff.render import error_page
from cityfed.web.staff.state import (
    LOGIN_CSRF,
    LOGIN_PATH,
    PREFIX,
    SESSION,
    SESSION_TOKEN,
    TRANSLATOR,
    UNREAD,
    USER,
    translator,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LANG_COOKIE = "cityfed_lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600
ROLE_ORDER = {"editor": 1, "admin": 2}
FORGED = N_("This form has expired or came from another site. Reload the page and try again.")
GENERIC = N_("Something went wrong. Go back and try again.")
ERROR_MESSAGES = {
    404: N_("There is no staff page at this address."),
    405: N_("This address does not take that kind of request."),
    413: N_("What you sent is too large."),
}


@dataclass(frozen=True)
class Cookies:
    """Cookie names and flags for this node.

    Cookies are scoped to a host, not a port, so nodes side by side on 127.0.0.1 (the demo, the
    tests) would sign each other out; the port in the name keeps them apart.
    """

    session: str
    login_csrf: str
    secure: bool

    @classmethod
    def of(cls, node: Node) -> Cookies:
        secure = node.settings.scheme == "https"
        domain = node.settings.domain
        port = domain.rsplit(":", 1)[1] if ":" in domain and not domain.endswith("]") else ""
        suffix = f"_{port}" if port else ""
        prefix = "__Host-" if secure else ""  # Secure, Path=/, no Domain: no subdomain may set it
        return cls(f"{prefix}cityfed_staff{suffix}", f"{prefix}cityfed_csrf{suffix}", secure)

    def set(
        self, response: web.StreamResponse, name: str, value: str, max_age: int | None = None
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.secure,
        )

    def clear(self, response: web.StreamResponse, name: str) -> None:
        response.del_cookie(name, path="/", secure=self.secure, httponly=True, samesite="Lax")


def is_staff_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _origins(request: web.Request) -> set[str]:
    node = request.app[NODE]
    # The configured origin, and the one the browser used (a node may be reached by another
    # name locally); a cross-site page's Origin is neither.
    return {node.urls.base, f"{request.scheme}://{request.host}"}


async def _forgery(request: web.Request, cookies: Cookies) -> str | None:
    """Why this state-changing request is refused, or None when it is the node's own form."""
    origin = request.headers.get("Origin")
    if origin is not None and origin not in _origins(request):
        return "origin"
    form = await request.post()
    sent = form.get("csrf")
    session = request.get(SESSION)
    if session is not None and request.path != LOGIN_PATH:
        expected = session.csrf_secret
    else:
        expected = request.cookies.get(cookies.login_csrf, "")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        return "csrf"
    return None


MEDIA_UPLOAD_PATH = "/staff/media/upload"
# POST paths whose form carries a file: uploads to projects, challenges and comments, and the
# profile's avatar and header.
LARGE_FORMS = frozenset({MEDIA_UPLOAD_PATH, "/staff/admin/profile/image"})


def media_upload_limit(settings: Settings) -> int:
    """The largest upload form: the larger file limit of ``[media]``, plus the form fields."""
    return max(settings.media_max_image_bytes, settings.media_max_document_bytes) + 64 * 1024


@web.middleware
async def staff_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_staff_path(request.path):
        return await handler(request)
    node = request.app[NODE]
    if request.path in LARGE_FORMS and request.method == "POST":
        # The forms bigger than the app's body limit: a picture or document may be as large as
        # the [media] limits allow (the file is checked again when it is processed).
        request = request.clone(client_max_size=media_upload_limit(node.settings))
    cookies = Cookies.of(node)
    asked = request.query.get("lang")
    lang = i18n.choose(
        asked, request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language")
    )
    request[TRANSLATOR] = i18n.Translator(lang)
    token = request.cookies.get(cookies.session, "")
    found = await user_actions.session_for(node, token) if token else None
    if found is not None:
        request[SESSION], request[USER] = found
        request[SESSION_TOKEN] = token
        request[UNREAD] = await notification_actions.unread_count(node, found[1].id)
    if found is not None or request.path == LOGIN_PATH:
        with contextlib.suppress(web.HTTPNotFound):  # a node without a city yet
            await city(request)  # named in the page header and on the sign-in page
    login_csrf = request.cookies.get(cookies.login_csrf) or secrets.token_urlsafe(32)
    request[LOGIN_CSRF] = login_csrf
    _ = translator(request)
    try:
        problem = None if request.method in SAFE_METHODS else await _forgery(request, cookies)
        if problem is not None:
            response: web.StreamResponse = error_page(request, 403, _(FORGED))
        else:
            response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_page(request, exc.status, _(ERROR_MESSAGES.get(exc.status, GENERIC)))
    # Staff pages show unpublished and personal data: never cache them anywhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie, Accept-Language"
    response.headers["Content-Language"] = lang
    if asked in i18n.LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
        cookies.set(response, LANG_COOKIE, asked, LANG_COOKIE_SECONDS)
    if login_csrf != request.cookies.get(cookies.login_csrf):
        cookies.set(response, cookies.login_csrf, login_csrf)
    if token and found is None and cookies.session not in response.cookies:
        cookies.clear(response, cookies.session)  # expired or signed out elsewhere
    return response


def login_redirect(request: web.Request) -> web.Response:
    target = request.path_qs if request.method in SAFE_METHODS else PREFIX + "/"
    query = urlencode({"next": target})
    return web.Response(status=303, headers={"Location": f"{LOGIN_PATH}?{query}"})


def requires(role: str, *, while_password_change: bool = False) -> Callable[[Handler], Handler]:
    """Only signed-in staff with at least ``role`` (editor < admin) reach the handler.

    An account with a one-time password reaches only its account page (``while_password_change``)
    until it has chosen its own password.
    """

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = request.get(USER)
            if user is None:
                return login_redirect(request)
            if user.must_change_password and not while_password_change:
                return web.Response(status=303, headers={"Location": f"{PREFIX}/account"})
            if ROLE_ORDER.get(user.role, 0) < ROLE_ORDER[role]:
                _ = translator(request)
                return error_page(request, 403, _("This page is for administrators."))
            return await handler(request)

        return guarded

    return wrap


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a staff path of ours only (no open redirect)."""
    # "/staff/..." is a path on this host ("//host" is not); backslashes and line breaks are
    # refused because some browsers and proxies read them as separators.
    if not target or not target.startswith(PREFIX + "/"):
        return PREFIX + "/"
    if any(char in target for char in ("\\", "\r", "\n")):
        return PREFIX + "/"
    return target
