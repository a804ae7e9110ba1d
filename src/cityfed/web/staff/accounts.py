"""API tokens and staff accounts (admins only): the actions ``cityfed users`` also calls.

A new token or one-time password is shown once, on the page that answers the POST (not after a
redirect, so it is never in a URL or a browser history entry).
"""

from __future__ import annotations

from aiohttp import web

from cityfed.actions import oauth as oauth_actions
from cityfed.actions import users as user_actions
from cityfed.appkeys import NODE
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import form, text
from cityfed.web.staff.i18n import Shown
from cityfed.web.staff.render import page, redirect
from cityfed.web.staff.state import who

# --- API tokens ---------------------------------------------------------------------------------


async def _tokens_page(
    request: web.Request,
    *,
    status: int = 200,
    errors: dict[str, Shown] | None = None,
    secret: str | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    tokens = await user_actions.list_api_tokens(request.app[NODE])
    grants = await oauth_actions.list_grants(request.app[NODE])
    return page(
        request,
        "admin_tokens.html",
        status=status,
        tokens=tokens,
        grants=grants,
        errors=errors or {},
        secret=secret,
        values=values or {},
    )


@requires("admin")
async def tokens(request: web.Request) -> web.StreamResponse:
    return await _tokens_page(request)


@requires("admin")
async def create_token(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    try:
        secret = await user_actions.create_api_token(
            request.app[NODE], text(data, "name"), text(data, "scope"), who=who(request)
        )
    except user_actions.UserError as exc:
        return await _tokens_page(request, status=422, errors={exc.field: exc}, values=data)
    return await _tokens_page(request, secret=secret)


@requires("admin")
async def revoke_token(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    raw = text(data, "id")
    try:
        await user_actions.revoke_api_token(
            request.app[NODE], int(raw) if raw.isdigit() else 0, who=who(request)
        )
    except user_actions.UserError as exc:
        return await _tokens_page(request, status=404, errors={exc.field: exc})
    return redirect("/staff/admin/tokens", done="token_revoked")


# --- staff accounts -----------------------------------------------------------------------------


async def _users_page(
    request: web.Request,
    *,
    status: int = 200,
    errors: dict[str, Shown] | None = None,
    created: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    users = await user_actions.list_users(request.app[NODE])
    return page(
        request,
        "admin_users.html",
        status=status,
        users=users,
        errors=errors or {},
        created=created,
        values=values or {},
    )


@requires("admin")
async def users(request: web.Request) -> web.StreamResponse:
    return await _users_page(request)


@requires("admin")
async def create_user(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    try:
        user, password = await user_actions.create_user(
            request.app[NODE], text(data, "email"), text(data, "role"), who=who(request)
        )
    except user_actions.UserError as exc:
        return await _users_page(request, status=422, errors={exc.field: exc}, values=data)
    return await _users_page(request, created=(user.email, password or ""))


@requires("admin")
async def reset_password(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    try:
        email = user_actions.normalize_email(text(data, "email"))
        password = await user_actions.reset_password(request.app[NODE], email, who=who(request))
    except user_actions.UserError as exc:
        return await _users_page(request, status=422, errors={"list": exc})
    return await _users_page(request, created=(email, password or ""))


@requires("admin")
async def delete_user(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    try:
        await user_actions.delete_user(request.app[NODE], text(data, "email"), who=who(request))
    except user_actions.UserError as exc:
        return await _users_page(request, status=422, errors={"list": exc})
    return redirect("/staff/admin/users", done="user_deleted")
