"""Open data: all of a city's live projects and challenges as one JSON-LD document and as CSV.

The JSON-LD is the complete ActivityPub documents (what partner cities receive), collected in an
``OrderedCollection`` under our usual ``@context``; the CSV is a flat table for spreadsheets and
open-data portals. Both are public and readable from any origin.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from aiohttp import web

from cityfed.actions.projects import load
from cityfed.activitypub.jsonld import DEFAULT_CONTEXT
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab import Project
from cityfed.appkeys import NODE
from cityfed.http.responses import error
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object
from cityfed.schemas.fields import FieldSpec
from cityfed.schemas.objects import PROJECT_SPECS
from cityfed.web.cities import CityLinks
from cityfed.web.opendata_http import open_document

JSONLD_TYPE = "application/ld+json; charset=utf-8"
CSV_TYPE = "text/csv; charset=utf-8; header=present"
# A project's declared fields (``cityfed.schemas``) but the long Markdown texts, in their order.
EXPORTED = tuple(spec for spec in PROJECT_SPECS if not spec.markdown)
CSV_COLUMNS = (
    "id", "type", "title", "teaser", "phase", "tags", "sdgs", "location", "start_date",
    "end_date", *(spec.name for spec in EXPORTED), "url", "published", "updated",
)  # fmt: skip
LIST_SEPARATOR = "; "
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); a leading
# apostrophe makes it text. Tab and carriage return are on OWASP's list too.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def collection(actor: Actor, rows: Sequence[Object]) -> dict[str, Any]:
    links = CityLinks.of(actor)
    documents = [{k: v for k, v in row.document.items() if k != "@context"} for row in rows]
    return {
        "@context": DEFAULT_CONTEXT,
        "id": links.jsonld,
        "type": "OrderedCollection",
        "name": f"{actor.name or actor.handle}: projects and challenges",
        "attributedTo": actor.ap_id,
        "totalItems": len(documents),
        "orderedItems": documents,
    }


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _date(value: Any) -> str:
    return value.date().isoformat() if value else ""


def _cell(project: Project | None, spec: FieldSpec) -> str:
    value = getattr(project, spec.name) if project is not None else None
    if spec.kind == "lines":
        return LIST_SEPARATOR.join(value or ())
    return value or ""


def csv_row(row: Object) -> list[str]:
    item = load(row)
    project = item if isinstance(item, Project) else None
    location = ""
    if item.location is not None:
        location = item.location.name
        if item.location.latitude is not None:
            location += f" ({item.location.latitude}, {item.location.longitude})"
    published = item.published or row.published
    values = [
        item.id,
        row.type,
        item.name,
        item.teaser,
        item.phase,
        LIST_SEPARATOR.join(item.tags),
        LIST_SEPARATOR.join(str(goal) for goal in item.sdgs),
        location,
        _date(item.start_time),
        _date(item.end_time),
        *(_cell(project, spec) for spec in EXPORTED),
        item.url or item.id,
        format_datetime(published) if published else "",
        format_datetime(item.updated) if item.updated else "",
    ]
    return [neutralise(value) for value in values]


def csv_table(rows: Iterable[Object]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: quotes as needed, CRLF line ends
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(row) for row in rows)
    return out.getvalue()


async def _everything(request: web.Request) -> tuple[Actor, list[Object]] | None:
    node = request.app[NODE]
    async with node.db.session() as session:
        actor = await actor_queries.local_actor(session, request.match_info["handle"])
        if actor is None:
            return None
        return actor, await object_queries.local_objects(session, actor.id, limit=None)


async def jsonld(request: web.Request) -> web.Response:
    found = await _everything(request)
    if found is None:
        return error(404, "no such actor")
    actor, rows = found
    body = orjson.dumps(collection(actor, rows))
    return open_document(request, body, JSONLD_TYPE)


async def csv_export(request: web.Request) -> web.Response:
    found = await _everything(request)
    if found is None:
        return error(404, "no such actor")
    actor, rows = found
    body = csv_table(rows).encode("utf-8")
    return open_document(request, body, CSV_TYPE, filename=f"{actor.handle}-projects.csv")
