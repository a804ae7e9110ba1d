"""How a page names a city (an actor) and links to it: its profile, lists, feed and open data."""

from __future__ import annotations

from dataclasses import dataclass

from cityfed.models.tables import Actor
from cityfed.web.filters import web_url


def profile_url(actor: Actor) -> str:
    return actor.url or actor.ap_id


@dataclass(frozen=True)
class City:
    """An actor as a page names it: a name, the fediverse account, a link to its profile."""

    name: str
    account: str
    url: str | None


def city(actor: Actor) -> City:
    # A remote actor's ``url`` is the peer's word: only an http(s) link becomes an href.
    return City(
        name=actor.name or actor.handle,
        account=f"@{actor.handle}@{actor.domain}",
        url=web_url(profile_url(actor)),
    )


@dataclass(frozen=True)
class CityLinks:
    """Where a city's lists, feed and open data live (all under its actor id)."""

    base: str

    @classmethod
    def of(cls, actor: Actor) -> CityLinks:
        return cls(actor.ap_id)

    @property
    def projects(self) -> str:
        return f"{self.base}/projects"

    @property
    def challenges(self) -> str:
        return f"{self.base}/challenges"

    @property
    def feed(self) -> str:
        return f"{self.base}/feed.atom"

    @property
    def jsonld(self) -> str:
        return f"{self.base}/projects.jsonld"

    @property
    def csv(self) -> str:
        return f"{self.base}/projects.csv"
