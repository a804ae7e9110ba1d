"""The OAuth consent page (issue 17.4) and the app authorisations each staff member holds.

``GET /oauth/authorize`` (mastodon/oauth.py) sends an app's request here. A signed-in staff member
(signed out: the sign-in page first, then back) sees which app asks for what, as what their role
allows, and says yes or no; the answer goes back to the app's registered redirect URI, or, for
``urn:ietf:wg:oauth:2.0:oob``, the code is shown to copy into the app.

The consent page lives with the staff pages because it *is* one: their session, CSRF check,
language and templates. The app's side of OAuth (apps, tokens) is the Mastodon face's.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web

from cityfed.actions import oauth as oauth_actions
from cityfed.appkeys import NODE
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import city, form, text
from cityfed.web.staff.i18n import N_
from cityfed.web.staff.render import error_page, page, redirect
from cityfed.web.staff.state import USER, translator, who

FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
# What each scope lets an app do, as the consent page says it.
SCOPE_TEXTS = {
    "read": N_("Read the partner timeline, notifications, follows and the city's account"),
    "write": N_("Comment, like and boost in the city's name"),
    "follow": N_("Follow and unfollow cities in the city's name"),
    "push": N_("Receive push notifications"),
    "profile": N_("See who you are"),
    "admin:read": N_("Read administration data (reports)"),
    "admin:write": N_("Take administration actions"),
}
REFUSED = {
    "invalid_client": N_("This app is not registered on this node."),
    "invalid_request": N_("The app's request is not valid here: {reason}"),
    "invalid_scope": N_("The app asks for permissions it did not register: {reason}"),
    "unsupported_response_type": N_("The app asks for a kind of answer this node does not give."),
}


def _consent_policy(redirect_uri: str) -> str:
    """The page's CSP: like every staff page's, but the form may lead to the app's redirect URI
    (browsers apply ``form-action`` to the redirect after the POST too)."""
    target = ""
    if redirect_uri != oauth_actions.OOB:
        parts = urlsplit(redirect_uri)
        if parts.scheme in ("http", "https"):
            target = " " + urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        else:  # a native app's own scheme
            target = f" {parts.scheme}:"
    return (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
        f"script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'{target}"
    )


def _scope_text(request: web.Request, scope: str) -> str:
    """What a scope allows, from its nearest described parent (``read:statuses`` → ``read``)."""
    _ = translator(request)
    parts = scope.split(":")
    for end in range(len(parts), 0, -1):
        described = SCOPE_TEXTS.get(":".join(parts[:end]))
        if described:
            return _(described)
    return scope


async def _checked(
    request: web.Request, values: dict[str, str]
) -> oauth_actions.AuthorizationRequest | web.Response:
    _ = translator(request)
    try:
        return await oauth_actions.check_request(
            request.app[NODE],
            client_id=values.get("client_id"),
            redirect_uri=values.get("redirect_uri"),
            response_type=values.get("response_type"),
            scope=values.get("scope"),
            state=values.get("state") or None,
            code_challenge=values.get("code_challenge") or None,
            code_challenge_method=values.get("code_challenge_method") or None,
        )
    except oauth_actions.OAuthError as exc:
        message = REFUSED.get(exc.error, REFUSED["invalid_request"])
        return error_page(request, 400, _(message, reason=exc.description))


@requires("editor")
async def consent_form(request: web.Request) -> web.StreamResponse:
    values = {name: request.query[name] for name in FIELDS if name in request.query}
    checked = await _checked(request, values)
    if isinstance(checked, web.Response):
        return checked
    user = request[USER]
    granted = oauth_actions.for_role(user.role, checked.scopes)
    dropped = [scope for scope in checked.scopes if scope not in granted]
    response = page(
        request,
        "oauth_authorize.html",
        app=checked.app,
        fields=values,
        granted=[(scope, _scope_text(request, scope)) for scope in granted],
        dropped=dropped,
        acting=(await city(request)).name,
    )
    response.headers["Content-Security-Policy"] = _consent_policy(checked.redirect_uri)
    return response


@requires("editor")
async def consent(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    values = {name: text(data, name) for name in FIELDS if text(data, name)}
    checked = await _checked(request, values)
    if isinstance(checked, web.Response):
        return checked
    answer: dict[str, str] = {}
    if data.get("decision") == "allow":
        code = await oauth_actions.grant_code(request.app[NODE], request[USER], checked)
        answer["code"] = code
    else:
        answer["error"] = "access_denied"
        answer["error_description"] = "The staff member refused the request"
    if checked.redirect_uri == oauth_actions.OOB:
        return page(request, "oauth_code.html", app=checked.app, code=answer.get("code"))
    if checked.state:
        answer["state"] = checked.state
    separator = "&" if "?" in checked.redirect_uri else "?"
    return web.Response(
        status=303, headers={"Location": checked.redirect_uri + separator + urlencode(answer)}
    )


@requires("editor")
async def revoke_own(request: web.Request) -> web.StreamResponse:
    """A staff member revokes an app they authorised (the account page lists them)."""
    data = await form(request)
    raw = text(data, "id")
    user = request[USER]
    await oauth_actions.revoke_grant(
        request.app[NODE], int(raw) if raw.isdigit() else 0, who=who(request), user_id=user.id
    )
    return redirect("/staff/account", done="token_revoked")


@requires("admin")
async def revoke_any(request: web.Request) -> web.StreamResponse:
    """An admin revokes any app authorisation (the API tokens page lists them all)."""
    data = await form(request)
    raw = text(data, "id")
    await oauth_actions.revoke_grant(
        request.app[NODE], int(raw) if raw.isdigit() else 0, who=who(request)
    )
    return redirect("/staff/admin/tokens", done="token_revoked")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/oauth/authorize", consent_form)
    app.router.add_post("/staff/oauth/authorize", consent)
    app.router.add_post("/staff/oauth/revoke", revoke_own)
    app.router.add_post("/staff/admin/tokens/revoke_app", revoke_any)
