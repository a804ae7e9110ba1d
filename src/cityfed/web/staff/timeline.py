"""The partner timeline: projects and challenges from the cities we follow, newest first,
filtered by type, tag, goal (SDG) or phase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from cityfed.activitypub.vocab import Project
from cityfed.appkeys import NODE
from cityfed.models import objects as object_queries
from cityfed.web.references import Reference, reference
from cityfed.web.staff import labels
from cityfed.web.staff.auth import requires
from cityfed.web.staff.common import city
from cityfed.web.staff.queries import Entry, TimelineFilter, timeline
from cityfed.web.staff.render import page

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

PAGE_SIZE = 20


@dataclass(frozen=True)
class Pages:
    number: int
    total: int
    query: dict[str, str]

    @property
    def count(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    def _url(self, number: int) -> str:
        return "/staff/?" + urlencode({**self.query, "page": str(number)})

    @property
    def prev_url(self) -> str | None:
        return self._url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self._url(self.number + 1) if self.number < self.count else None


def _filter(query: dict[str, str]) -> TimelineFilter:
    kind = query.get("type", "")
    sdg = query.get("sdg", "")
    phase = query.get("phase", "")
    return TimelineFilter(
        kind=kind if kind in ("project", "challenge") else "",
        tag=query.get("tag", "").strip().lstrip("#")[:100],
        sdg=int(sdg) if sdg.isdigit() and 1 <= int(sdg) <= 17 else None,
        phase=phase if phase in labels.PHASES else "",
    )


async def _origins(session: AsyncSession, entries: list[Entry]) -> dict[str, Reference]:
    """For each adopted copy in ``entries`` (a project "based on" another), the original, so
    the timeline says so instead of showing what looks like a duplicate."""
    based_on = [
        entry.item.is_based_on
        for entry in entries
        if isinstance(entry.item, Project) and entry.item.is_based_on
    ]
    titles = await object_queries.titles(session, based_on)
    owners = await object_queries.owners(session, based_on)
    return {ap_id: reference(ap_id, titles, owners) for ap_id in based_on}


@requires("editor")
async def partner_timeline(request: web.Request) -> web.StreamResponse:
    node = request.app[NODE]
    me = await city(request)
    query = dict(request.query)
    wanted = _filter(query)
    raw_page = query.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1
    async with node.db.session() as session:
        entries, total = await timeline(
            session, me.id, wanted, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        origins = await _origins(session, entries)
    kept = {
        key: value
        for key, value in {
            "type": wanted.kind,
            "tag": wanted.tag,
            "sdg": str(wanted.sdg or ""),
            "phase": wanted.phase,
        }.items()
        if value
    }
    return page(
        request,
        "timeline.html",
        entries=entries,
        origins=origins,
        wanted=wanted,
        pages=Pages(number, total, kept),
        phases=list(labels.PHASES),
        goals=list(labels.SDGS),
    )
