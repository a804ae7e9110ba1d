"""OrderedCollection and OrderedCollectionPage documents with ``?page=N`` paging."""

from __future__ import annotations

from typing import Any

from cityfed.activitypub.jsonld import DEFAULT_CONTEXT

PAGE_SIZE = 20


def collection(collection_id: str, total: int, *, paged: bool = True) -> dict[str, Any]:
    """The collection head: total and a link to the first page (Mastodon follows ``first``)."""
    doc: dict[str, Any] = {
        "@context": DEFAULT_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if paged:
        doc["first"] = f"{collection_id}?page=1"
        if total:
            doc["last"] = f"{collection_id}?page={max(1, -(-total // PAGE_SIZE))}"
    return doc


def page(
    collection_id: str, number: int, items: list[Any], total: int, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": DEFAULT_CONTEXT,
        "id": f"{collection_id}?page={number}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": items,
    }
    if number > 1:
        doc["prev"] = f"{collection_id}?page={number - 1}"
    if number * page_size < total:
        doc["next"] = f"{collection_id}?page={number + 1}"
    return doc


def parse_page_number(raw: str | None) -> int | None:
    """``?page=`` value → a page number ≥ 1, None when absent; ValueError when malformed."""
    if raw is None:
        return None
    if raw.lower() == "true":  # Mastodon-style ?page=true means the first page
        return 1
    number = int(raw)
    if number < 1 or number > 1_000_000:
        raise ValueError("page out of range")
    return number


# --- replies, likes and shares of an object, as Mastodon serves them ----------------------------


def reply_page(
    collection_id: str, number: int, items: list[Any], total: int, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """One page of an object's replies: a ``CollectionPage`` with ``items`` (Mastodon's shape)."""
    doc: dict[str, Any] = {
        "id": f"{collection_id}?page={number}",
        "type": "CollectionPage",
        "partOf": collection_id,
        "items": items,
    }
    if number > 1:
        doc["prev"] = f"{collection_id}?page={number - 1}"
    if number * page_size < total:
        doc["next"] = f"{collection_id}?page={number + 1}"
    return doc


def replies(collection_id: str, first_items: list[Any], total: int) -> dict[str, Any]:
    """An object's ``replies`` with its first page embedded, as Mastodon sends it: GoToSocial and
    Mastodon fill a thread from ``first`` (its ``items``, then ``next``), never from a bare link.
    No ``@context``: it is embedded in the object."""
    return {
        "id": collection_id,
        "type": "Collection",
        "totalItems": total,
        "first": reply_page(collection_id, 1, first_items, total),
    }


def counted(collection_id: str, total: int) -> dict[str, Any]:
    """A collection known by its size only (``likes``, ``shares``), as Mastodon serves them."""
    return {"id": collection_id, "type": "Collection", "totalItems": total}
