"""Paging of HTML lists: the ``?page=`` parameter and the links to the pages around it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from cityfed.activitypub import collections as coll

PAGE_SIZE = coll.PAGE_SIZE


class BadPage(ValueError):
    """A ``page`` query parameter that is not a page number."""


def page_number(raw: str | None) -> int:
    """``?page=`` → 1-based page number (1 when absent); BadPage when malformed."""
    try:
        return coll.parse_page_number(raw) or 1
    except ValueError:
        raise BadPage(raw) from None


@dataclass(frozen=True)
class Pager:
    number: int
    total: int
    path: str
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def beyond_end(self) -> bool:
        return self.number > self.pages

    def url(self, number: int) -> str:
        return self.path if number == 1 else f"{self.path}?{urlencode({'page': number})}"

    @property
    def prev_url(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.pages else None
