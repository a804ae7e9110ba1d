"""The routes of the staff pages and ``setup(app)``, which create_app calls."""

from __future__ import annotations

from aiohttp import web

from cityfed.actions.password_hashing import HashingGate
from cityfed.web.staff import (
    accounts,
    admin,
    follows,
    items,
    media,
    notifications,
    oauth,
    objects,
    profile,
    report,
    signin,
    timeline,
)
from cityfed.web.staff import search as staff_search
from cityfed.web.staff.ratelimit import HASHING, LIMITER, LoginLimiter


async def _to_index(_request: web.Request) -> web.StreamResponse:
    return web.Response(status=308, headers={"Location": "/staff/"})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/staff", _to_index)
    r.add_get("/staff/login", signin.login_form)
    r.add_post("/staff/login", signin.login)
    r.add_post("/staff/logout", signin.logout)
    r.add_get("/staff/account", signin.account)
    r.add_post("/staff/account", signin.change_password)
    r.add_post("/staff/account/notifications", notifications.save_preferences)
    r.add_get("/staff/notifications", notifications.list_page)
    r.add_post("/staff/notifications/read", notifications.mark_read)
    r.add_get("/staff/", timeline.partner_timeline)
    r.add_get("/staff/search", staff_search.search_page)
    r.add_get("/staff/items", items.list_items)
    r.add_get("/staff/items/new", items.new_form)
    r.add_post("/staff/items/new", items.create)
    r.add_get("/staff/items/edit", items.edit_form)
    r.add_post("/staff/items/edit", items.update)
    r.add_get("/staff/items/delete", items.delete_form)
    r.add_post("/staff/items/delete", items.delete)
    r.add_post("/staff/preview", items.preview)
    r.add_get("/staff/object", objects.object_page)
    r.add_post("/staff/comments", objects.comment)
    r.add_get("/staff/adopt", objects.adopt_form)
    r.add_post("/staff/adopt", objects.adopt)
    r.add_post("/staff/adoptions/update", objects.update_adoption)
    r.add_post("/staff/offers", objects.offer)
    r.add_post("/staff/offers/answer", objects.answer_offer)
    r.add_get("/staff/report", report.report_form)
    r.add_post("/staff/report", report.report)
    r.add_get("/staff/follows", follows.follows_page)
    r.add_post("/staff/follows", follows.follow)
    r.add_post("/staff/follows/remove", follows.unfollow)
    r.add_post("/staff/followers/decide", follows.decide_follower)
    r.add_get("/staff/admin/peers", admin.peers)
    r.add_post("/staff/admin/peers", admin.set_peer_policy)
    r.add_post("/staff/admin/federation", admin.set_mode)
    r.add_get("/staff/admin/deliveries", admin.deliveries)
    r.add_post("/staff/admin/deliveries", admin.dead_deliveries)
    r.add_get("/staff/admin/reports", admin.reports)
    r.add_post("/staff/admin/reports/resolve", admin.resolve_report)
    r.add_get("/staff/admin/audit", admin.audit)
    r.add_get("/staff/admin/keys", admin.keys)
    r.add_post("/staff/admin/keys/rotate", admin.rotate_keys)
    r.add_get("/staff/admin/moderation", admin.moderation_queue)
    r.add_post("/staff/admin/moderation/decide", admin.decide_comment)
    r.add_post("/staff/admin/moderation/policy", admin.moderation_policy)
    r.add_get("/staff/admin/tokens", accounts.tokens)
    r.add_post("/staff/admin/tokens", accounts.create_token)
    r.add_post("/staff/admin/tokens/revoke", accounts.revoke_token)
    r.add_get("/staff/admin/users", accounts.users)
    r.add_post("/staff/admin/users", accounts.create_user)
    r.add_post("/staff/admin/users/reset", accounts.reset_password)
    r.add_post("/staff/admin/users/delete", accounts.delete_user)
    oauth.add_routes(app)
    profile.add_routes(app)
    media.add_routes(app)


def setup(app: web.Application) -> None:
    """Install the staff pages: routes and the login limiter. Their sign-in/CSRF middleware is
    run by the app's middleware (cityfed.middleware) for paths under /staff."""
    app[LIMITER] = LoginLimiter()
    app[HASHING] = HashingGate()
    app.on_cleanup.append(_close_hashing)
    add_routes(app)


async def _close_hashing(app: web.Application) -> None:
    app[HASHING].close()
