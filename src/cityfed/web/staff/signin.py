"""Signing in and out, and changing one's own password."""

from __future__ import annotations

import math

from aiohttp import web

from cityfed.actions import oauth as oauth_actions
from cityfed.actions import users as user_actions
from cityfed.actions.password_hashing import HashingBusy
from cityfed.appkeys import NODE
from cityfed.web.staff import notifications
from cityfed.web.staff.auth import Cookies, requires, safe_next
from cityfed.web.staff.common import form, text
from cityfed.web.staff.i18n import Shown
from cityfed.web.staff.ratelimit import HASHING, LIMITER
from cityfed.web.staff.render import page, redirect
from cityfed.web.staff.state import SESSION, SESSION_TOKEN, USER, translator, user_of


async def login_form(request: web.Request) -> web.StreamResponse:
    target = safe_next(request.query.get("next"))
    if user_of(request) is not None:
        return redirect(target)
    return page(request, "login.html", next=target, email="", error=None)


async def login(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    _ = translator(request)
    data = await form(request)
    email, password = text(data, "email").lower(), data.get("password", "")
    target = safe_next(data.get("next"))
    limiter = request.app[LIMITER]
    client = request.remote or "unknown"
    wait = limiter.attempt(email, client)  # counted now, before the password is hashed
    if wait is not None:
        message = _(
            "Too many failed sign-ins. Try again in {minutes} minutes.",
            minutes=math.ceil(wait / 60),
        )
        response = page(request, "login.html", status=429, next=target, email=email, error=message)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        user = await user_actions.authenticate(node, email, password, gate=request.app[HASHING])
    except HashingBusy as exc:
        return _busy(request, target, email, exc.retry_after)
    if user is None:
        message = _("The e-mail address or the password is wrong.")
        return page(request, "login.html", status=401, next=target, email=email, error=message)
    limiter.succeeded(email, client)
    token, _session = await user_actions.sign_in(node, user)
    response = redirect("/staff/account" if user.must_change_password else target)
    cookies = Cookies.of(node)
    lifetime = int(user_actions.SESSION_LIFETIME.total_seconds())
    cookies.set(response, cookies.session, token, max_age=lifetime)
    return response


def _busy(request: web.Request, target: str, email: str, wait: int) -> web.StreamResponse:
    """Too many sign-ins being checked at once (a flood): come back shortly."""
    _ = translator(request)
    message = _("Too many sign-ins at once. Try again in a few seconds.")
    response = page(request, "login.html", status=503, next=target, email=email, error=message)
    response.headers["Retry-After"] = str(wait)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    token = request.get(SESSION_TOKEN)
    if token:
        await user_actions.sign_out(node, token)
    response = redirect("/staff/login", done="signed_out")
    cookies = Cookies.of(node)
    cookies.clear(response, cookies.session)
    return response


@requires("editor", while_password_change=True)
async def account(request: web.Request) -> web.StreamResponse:
    grants = await oauth_actions.list_grants(request.app[NODE], user_id=request[USER].id)
    return page(
        request,
        "account.html",
        errors={},
        grants=grants,
        **await notifications.preference_context(request),
    )


@requires("editor", while_password_change=True)
async def change_password(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    data = await form(request)
    user = request[USER]
    new = data.get("password", "")
    errors: dict[str, Shown] = {}
    if new != data.get("password_confirm", ""):
        errors["password_confirm"] = _("The two new passwords differ.")
    else:
        try:
            await user_actions.change_password(
                request.app[NODE],
                user.id,
                data.get("current_password", ""),
                new,
                keep_session=request[SESSION].id,
                gate=request.app[HASHING],
            )
        except user_actions.UserError as exc:
            errors[exc.field] = exc
        except HashingBusy as exc:
            response = page(request, "account.html", status=503, errors={})
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
    if errors:
        return page(request, "account.html", status=422, errors=errors)
    return redirect("/staff/", done="password_changed")
