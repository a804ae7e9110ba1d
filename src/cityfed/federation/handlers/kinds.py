"""Which of our flows an incoming object belongs to, decided from its type and shape only."""

from __future__ import annotations

from typing import Any

from cityfed.activitypub.vocab.common import id_of, types_of

CITY = "city"  # a Project or Challenge
ADOPTION = "adoption"
OFFER = "offer"  # a SolutionOffer
COMMENT = "comment"  # any Note-like object that replies to something

_NOTE_LIKE = frozenset({"Note", "Article", "Page", "Question", "Event"})


def _local_names(obj: dict[str, Any]) -> set[str]:
    """Type names without prefix or namespace: a peer may spell ours ``city:Project`` under its
    own context; the vocabulary reader then decides, with JSON-LD, whether it really is ours."""
    return {t.rsplit("#", 1)[-1].rsplit(":", 1)[-1].rsplit("/", 1)[-1] for t in types_of(obj)}


def kind_of(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    names = _local_names(obj)
    if names & {"Project", "Challenge"}:
        return CITY
    if "Adoption" in names:
        return ADOPTION
    if "SolutionOffer" in names:
        return OFFER
    if names & _NOTE_LIKE and id_of(obj.get("inReplyTo")):
        return COMMENT
    return None
