"""Solutions as pages show them: the projects accepted for a challenge, and the challenges a
project was accepted for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from cityfed.actions.project_fields import CityObject
from cityfed.activitypub.vocab import Challenge
from cityfed.activitypub.vocab.common import id_of
from cityfed.activitypub.vocab.cooperation import SolutionOffer
from cityfed.models.tables import Actor, Object
from cityfed.web.cities import city
from cityfed.web.filters import web_url
from cityfed.web.references import Reference, reference
from cityfed.web.threads import comment_html


@dataclass(frozen=True)
class SolutionView:
    """A project accepted as a solution of a challenge, or one the challenge was resolved by."""

    project: Reference
    rationale: Markup
    offered: datetime | None = None
    resolves: bool = False  # in the challenge's cf:resolvedBy


def solution_views(
    item: CityObject,
    offers: Iterable[tuple[Object, Actor]],
    titles: Mapping[str, str] | None = None,
    owners: Mapping[str, Actor] | None = None,
) -> list[SolutionView]:
    """The accepted offers for challenge ``item`` (oldest first), then any project it names as
    resolved by that came without an offer (set by its owner directly)."""
    titles = titles or {}
    resolved = list(item.resolved_by) if isinstance(item, Challenge) else []
    views: list[SolutionView] = []
    seen: set[str] = set()
    for row, offerer in offers:
        try:
            offer = SolutionOffer.from_plain(row.document)
        except ValueError:
            continue
        if offer.solution in seen:
            continue
        seen.add(offer.solution)
        who = city(offerer)
        project = reference(offer.solution, titles, fallback=f"A project of {who.name}")
        views.append(
            SolutionView(
                project=Reference(project.url, project.label, who),
                rationale=comment_html(offer.content),
                offered=row.published,
                resolves=offer.solution in resolved,
            )
        )
    for ap_id in resolved:
        if ap_id not in seen:
            seen.add(ap_id)
            views.append(SolutionView(reference(ap_id, titles, owners), Markup(""), resolves=True))
    return views


def solution_for(
    offers: Iterable[Object],
    titles: Mapping[str, str] | None = None,
    owners: Mapping[str, Actor] | None = None,
) -> list[Reference]:
    """The challenges a project was accepted for (from our accepted offers of it)."""
    refs: list[Reference] = []
    for row in offers:
        challenge = id_of(row.document.get("cf:challenge")) or row.target
        if challenge and all(ref.url != web_url(challenge) for ref in refs):
            refs.append(reference(challenge, titles or {}, owners))
    return refs
