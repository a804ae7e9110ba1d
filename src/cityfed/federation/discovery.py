"""WebFinger, host-meta and NodeInfo: how other servers find this node and its actors."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from cityfed import __version__
from cityfed.activitypub import nodeinfo as ni
from cityfed.activitypub.webfinger import (
    JRD_TYPE,
    WebfingerError,
    host_meta_xml,
    jrd,
    parse_account,
)
from cityfed.appkeys import NODE
from cityfed.http.responses import error, plain_json
from cityfed.models import actors as actor_queries
from cityfed.models import statuses as status_queries
from cityfed.models.tables import Actor

CORS = {"Access-Control-Allow-Origin": "*"}


async def webfinger(request: web.Request) -> web.Response:
    node = request.app[NODE]
    resource = request.query.get("resource", "").strip()
    if not resource:
        return error(400, "the resource parameter is required")
    async with node.db.session() as session:
        actor: Actor | None
        if resource.startswith(("https://", "http://")):
            actor = await actor_queries.actor_by_ap_id(session, resource)
            if actor is None:  # the HTML profile URL names the same actor
                path = urlsplit(resource).path
                if resource.startswith(node.urls.base + "/@"):
                    actor = await actor_queries.local_actor(session, path[2:])
            if actor is not None and not actor.local:
                actor = None
        else:
            try:
                account = parse_account(resource)
            except WebfingerError as exc:
                return error(400, str(exc))
            if account.host not in {node.settings.domain, node.settings.hostname}:
                return error(404, "not an account of this node")
            actor = await actor_queries.local_actor(session, account.user.lower())
            if actor is None and account.user == node.settings.hostname:
                actor = await actor_queries.instance_actor(session)
    if actor is None:
        return error(404, "no such account")
    subject = f"acct:{actor.handle}@{node.settings.domain}"
    aliases = [actor.ap_id] + ([actor.url] if actor.url and actor.url != actor.ap_id else [])
    doc = jrd(subject, actor.ap_id, actor.url or actor.ap_id, aliases)
    return plain_json(doc, content_type=JRD_TYPE, headers=CORS)


async def host_meta(request: web.Request) -> web.Response:
    node = request.app[NODE]
    return web.Response(
        text=host_meta_xml(node.urls.base),
        content_type="application/xrd+xml",
        charset="utf-8",
        headers=CORS,
    )


async def nodeinfo_discovery(request: web.Request) -> web.Response:
    return plain_json(ni.discovery(request.app[NODE].urls.base), headers=CORS)


async def nodeinfo(request: web.Request) -> web.Response:
    node = request.app[NODE]
    version = request.match_info["version"]
    if version not in ni.SCHEMAS:
        return error(404, "unknown NodeInfo version")
    async with node.db.session() as session:
        users = await actor_queries.count_local_actors(session)
        # The same count as the Mastodon instance's status_count: one function, one answer.
        posts = await status_queries.count_local_posts(session)
        names = [a.name for a in await actor_queries.local_actors(session) if a.name]
    node_name = names[0] if len(names) == 1 else node.settings.domain
    usage = ni.Usage(users=users, active_month=users, active_halfyear=users, local_posts=posts)
    doc = ni.nodeinfo(version, __version__, usage, node_name)
    content_type = f'application/json; profile="{ni.SCHEMAS[version]}#"'
    return web.Response(body=plain_json(doc).body, headers={**CORS, "Content-Type": content_type})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/.well-known/webfinger", webfinger)
    app.router.add_get("/.well-known/host-meta", host_meta)
    app.router.add_get("/.well-known/nodeinfo", nodeinfo_discovery)
    app.router.add_get("/nodeinfo/{version}", nodeinfo)
