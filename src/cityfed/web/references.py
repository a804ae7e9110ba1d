"""Links from one project or challenge to others: which ids it names, and each as a page shows
it (its title and owning city, where this node knows them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cityfed.actions.project_fields import CityObject
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.models.tables import Actor
from cityfed.web.cities import City, city
from cityfed.web.filters import web_url


@dataclass(frozen=True)
class Reference:
    """A link to another object, with its title (and owner) when this node knows it."""

    url: str | None
    label: str
    owner: City | None = None


def referenced_ids(item: CityObject) -> list[str]:
    ids: list[str] = []
    if isinstance(item, Project):
        ids += [item.is_based_on] if item.is_based_on else []
        ids += item.addresses
    elif isinstance(item, Challenge):
        ids += item.resolved_by
    return ids


def reference(
    ap_id: str,
    titles: Mapping[str, str],
    owners: Mapping[str, Actor] | None = None,
    *,
    fallback: str | None = None,
) -> Reference:
    owner = (owners or {}).get(ap_id)
    return Reference(
        url=web_url(ap_id),
        label=titles.get(ap_id) or fallback or ap_id,
        owner=city(owner) if owner is not None else None,
    )
