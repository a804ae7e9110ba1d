"""The GET routes of web/ beyond the front page (``pages.add_routes``): lists, hashtags, feed and
open data. Object pages are served at their ids by federation/objects.py, which calls
``web.objects.object_page`` for browsers; profiles by
federation/actors.py, which calls ``web.lists.profile_page``."""

from __future__ import annotations

from aiohttp import web

from cityfed.web import feeds, lists, media, opendata, search


def add_routes(app: web.Application) -> None:
    app.router.add_get("/actors/{handle}/{kind:projects|challenges}", lists.kind_list)
    app.router.add_get("/actors/{handle}/feed.atom", feeds.feed)
    app.router.add_get("/actors/{handle}/projects.jsonld", opendata.jsonld)
    app.router.add_get("/actors/{handle}/projects.csv", opendata.csv_export)
    media.add_routes(app)
    app.router.add_get("/tags/{tag}/feed.atom", feeds.tag_feed)
    app.router.add_get("/sdgs/{goal}/feed.atom", feeds.sdg_feed)
    # Before the /static directory (app.py adds it last): served with a type browsers apply.
    app.router.add_get("/static/feed.xsl", feeds.stylesheet)
    # Ours and partners' public items (issue 18).
    app.router.add_get("/tags/{tag}", search.tag_page)
    search.add_routes(app)
