"""The staff notifications page (issue 18.5): the list, mark read (one or all), and the
notification preferences on the account page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cityfed.actions import notifications as notification_actions
from cityfed.appkeys import NODE
from cityfed.models.notifications import EmailMode, Kind
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import form
from cityfed.web.staff.i18n import N_
from cityfed.web.staff.render import page, redirect
from cityfed.web.staff.state import USER, translator

# Each event as staff read it in the preferences (the messages are extracted for translation).
KIND_LABELS = {
    Kind.COMMENT: N_("A comment or reply on our items"),
    Kind.MENTION: N_("A mention of our city"),
    Kind.FOLLOW: N_("A new follower"),
    Kind.FOLLOW_REQUEST: N_("A follow request waiting for approval"),
    Kind.ADOPTION: N_("An adoption of our project"),
    Kind.ADOPTION_UPDATE: N_("A change in an adoption's status"),
    Kind.OFFER: N_("A solution offer for our challenge"),
    Kind.OFFER_ANSWER: N_("An answer to our solution offer"),
    Kind.REPORT: N_("A report"),
    Kind.KEY_ROTATION: N_("A partner's key rotation"),
    Kind.DEAD_LETTER: N_("Deliveries to a partner given up"),
    Kind.LIKE: N_("A like"),
    Kind.BOOST: N_("A boost"),
}
EMAIL_LABELS = {
    EmailMode.IMMEDIATE: N_("Right away, one e-mail per notification"),
    EmailMode.DIGEST: N_("Once a day, a digest"),
    EmailMode.OFF: N_("No e-mail"),
}


@requires("editor")
async def list_page(request: web.Request) -> web.StreamResponse:
    raw = request.query.get("before", "")
    before = int(raw) if raw.isdigit() else None
    unread_only = request.query.get("unread") == "1"
    rows = await notification_actions.list_for(
        request.app[NODE], request[USER].id, before_id=before, unread_only=unread_only
    )
    older = rows[-1][0].id if len(rows) == notification_actions.PAGE else None
    return page(request, "notifications.html", rows=rows, older=older, unread_only=unread_only)


@requires("editor")
async def mark_read(request: web.Request) -> web.StreamResponse:
    data = await form(request)
    node, user = request.app[NODE], request[USER]
    if data.get("all") == "1":
        await notification_actions.mark_read(node, user.id)
    else:
        raw = data.get("id", "")
        if not raw.isdigit():
            raise web.HTTPBadRequest()
        await notification_actions.mark_read(node, user.id, [int(raw)])
    return redirect("/staff/notifications", "notifications_read")


async def preference_context(request: web.Request) -> dict[str, Any]:
    """What the account page shows of the member's notification preferences."""
    _ = translator(request)
    prefs = await notification_actions.preferences(request.app[NODE], request[USER].id)
    kinds = [(kind.value, _(label), kind not in prefs.muted) for kind, label in KIND_LABELS.items()]
    emails = [(mode.value, _(label), mode is prefs.email) for mode, label in EMAIL_LABELS.items()]
    return {"notification_kinds": kinds, "email_modes": emails}


@requires("editor")
async def save_preferences(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    wanted = [value for value in data.getall("kinds", []) if isinstance(value, str)]
    email = data.get("email")
    try:
        await notification_actions.set_preferences(
            request.app[NODE],
            request[USER].id,
            wanted=wanted,
            email=email if isinstance(email, str) else "",
        )
    except notification_actions.PreferenceError:
        raise web.HTTPBadRequest() from None
    return redirect("/staff/account", "notifications_saved")
