"""The GET routes of web/ beyond the front page (``pages.add_routes``): lists, hashtags, feed and
open data. Object pages are served at their ids by federation/objects.py, which calls
``web.objects.object_page`` for browsers; profiles by
federation/actors.py, which calls ``web.lists.profile_page``."""

from __future__ import annotations

from aiohttp import web

from cityfed.web import feeds, lists, opendata, search


def add_routes(app: web.Application) -> None:
    app.router.add_get("/actors/{handle}/{kind:projects|challenges}", lists.kind_list)
    app.router.add_get("/actors/{handle}/feed.atom", feeds.feed)
    app.router.add_get("/actors/{handle}/projects.jsonld", opendata.jsonld)
    app.router.add_get("/actors/{handle}/projects.csv", opendata.csv_export)
    # Ours and partners' public items (issue 18); lists.tag_page showed only our own.
    app.router.add_get("/tags/{tag}", search.tag_page)
    search.add_routes(app)
