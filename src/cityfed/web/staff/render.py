"""Rendering staff pages: the shared context (user, language, CSRF token, navigation, notice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from cityfed.appkeys import NODE
from cityfed.schemas.objects import GROUPS
from cityfed.web.staff import i18n
from cityfed.web.staff.common import object_url
from cityfed.web.staff.i18n import N_
from cityfed.web.staff.labels import Labels
from cityfed.web.staff.localized import shown
from cityfed.web.staff.state import CITY, UNREAD, csrf_token, translator, user_of
from cityfed.web.templates_key import TEMPLATES

# ``?done=<key>`` after a successful POST (Post/Redirect/Get): a fixed set, never free text, so a
# link cannot make our page say something we did not write.
NOTICES = {
    "published": N_("Published. Your followers receive it in a moment."),
    "updated": N_("Saved. Your followers receive the update in a moment."),
    "deleted": N_("Deleted. Your followers are told in a moment."),
    "commented": N_("Your comment is published."),
    "adopted": N_("Adopted. This is your own project, based on the partner's."),
    "adoption_updated": N_("The adoption's progress is saved and sent."),
    "offered": N_("Your solution is offered. The challenge's owner decides."),
    "offer_answered": N_("Your answer to the offer is sent."),
    "follow_requested": N_("Follow request sent. It is pending until the city accepts."),
    "unfollowed": N_("You no longer follow that city."),
    "follower_decided": N_("Your answer is sent to the city."),
    "reported": N_("The report is sent, anonymously, to the other city's node."),
    "signed_out": N_("You are signed out."),
    "password_changed": N_("Your password is changed."),
    "policy_saved": N_("The peer policy is saved."),
    "mode_saved": N_("The federation mode is saved."),
    "deliveries_retried": N_("The selected dead deliveries are queued again."),
    "deliveries_dropped": N_("The selected dead deliveries are dropped."),
    "report_resolved": N_("The report is resolved."),
    "keys_rotated": N_("New keys are in use; followers learn them in a moment."),
    "comment_decided": N_("The comment's moderation is saved."),
    "moderation_saved": N_("The moderation setting is saved."),
    "token_revoked": N_("The token is revoked."),
    "user_deleted": N_("The account is deleted."),
    "profile_saved": N_("The profile is saved and sent to our followers."),
    "profile_verified": N_("The links are checked again."),
    "profile_image_saved": N_("The picture is saved and sent to our followers."),
    "profile_image_removed": N_("The picture is removed."),
    "media_added": N_("The file is stored and attached; followers receive the update in a moment."),
    "media_saved": N_("Saved. Your followers receive the update in a moment."),
    "media_removed": N_("The file is removed; followers receive the update in a moment."),
    "notifications_read": N_("Marked as read."),
    "notifications_saved": N_("Your notification settings are saved."),
}


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    current: bool


EDITOR_NAV = (
    ("/staff/", N_("Partner timeline")),
    ("/staff/notifications", N_("Notifications")),
    ("/staff/items", N_("Our projects and challenges")),
    ("/staff/report", N_("Report a city")),
    ("/staff/account", N_("My account")),
)
ADMIN_NAV = (
    ("/staff/admin/profile", N_("City profile")),
    ("/staff/follows", N_("Follows")),
    ("/staff/admin/moderation", N_("Moderation")),
    ("/staff/admin/peers", N_("Peers")),
    ("/staff/admin/deliveries", N_("Delivery queue")),
    ("/staff/admin/reports", N_("Reports")),
    ("/staff/admin/audit", N_("Audit log")),
    ("/staff/admin/keys", N_("Keys")),
    ("/staff/admin/tokens", N_("API tokens")),
    ("/staff/admin/users", N_("Staff accounts")),
)


def _nav(request: web.Request, entries: tuple[tuple[str, str], ...]) -> list[NavItem]:
    _ = translator(request)
    return [NavItem(href, _(label), request.path == href) for href, label in entries]


def language_links(request: web.Request) -> list[dict[str, str]]:
    """The switch: this page in each language (other query parameters kept)."""
    links = []
    for lang in i18n.LANGUAGES:
        query = {k: v for k, v in request.query.items() if k not in ("lang", "done")}
        query["lang"] = lang
        links.append(
            {
                "lang": lang,
                "name": i18n.LANGUAGE_NAMES[lang],
                "href": f"{request.path}?{urlencode(query)}",
            }
        )
    return links


def when(value: datetime | None) -> str:
    """A time as staff read it: UTC, to the minute."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    _ = translator(request)
    user = user_of(request)
    done = request.query.get("done")
    values: dict[str, Any] = {
        "_": _,
        "gettext": _.gettext,
        "ngettext": _.ngettext,
        "lang": _.lang,
        "user": user,
        "csrf": csrf_token(request),
        "nav": _nav(request, EDITOR_NAV) if user else [],
        "admin_nav": _nav(request, ADMIN_NAV) if user and user.role == "admin" else [],
        "language_links": language_links(request),
        "notice": _(NOTICES[done]) if done in NOTICES else None,
        "node_name": request.app[NODE].settings.domain,
        "city_name": city.name if (city := request.get(CITY)) is not None else None,
        "when": when,
        "problem": _.problem,
        "labels": Labels(_),
        "object_url": object_url,
        "in_page_language": shown,
        "path": request.path,
        "fields": GROUPS,  # the declared fields of each kind, for the forms
        "unread": request.get(UNREAD, 0),
    }
    values.update(context)
    body = request.app[TEMPLATES].get_template(f"staff/{template}").render(values)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


GENERIC_TITLE = N_("Something went wrong")
ERROR_TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    413: N_("Too large"),
    429: N_("Too many attempts"),
}


def error_page(
    request: web.Request,
    status: int,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An HTML error page in the page's language (``message`` already translated)."""
    _ = translator(request)
    title = _(ERROR_TITLES.get(status, GENERIC_TITLE))
    response = page(request, "error.html", status=status, title=title, message=message)
    if headers:
        response.headers.update(headers)
    return response


def redirect(path: str, done: str | None = None, **query: str) -> web.Response:
    """303 See Other to a staff page (after a POST), with a notice key."""
    path, _, fragment = path.partition("#")
    params = {k: v for k, v in query.items() if v}
    if done:
        params["done"] = done
    separator = "&" if "?" in path else "?"
    target = f"{path}{separator}{urlencode(params)}" if params else path
    if fragment:
        target += f"#{fragment}"
    return web.Response(status=303, headers={"Location": target})
