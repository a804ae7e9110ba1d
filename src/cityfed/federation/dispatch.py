"""Route a stored activity to the handler for its type (an explicit table, no import magic)."""

from __future__ import annotations

from cityfed.activitypub.vocab.common import as_list
from cityfed.federation.handlers import (
    answer,
    create,
    delete,
    flag,
    follow,
    offers,
    reactions,
    undo,
    update,
)
from cityfed.federation.handlers.base import Handler


def registry() -> dict[str, Handler]:
    return {
        "Follow": follow.HANDLER,
        "Accept": answer.ACCEPT,
        "Reject": answer.REJECT,
        "Undo": undo.HANDLER,
        "Create": create.HANDLER,
        "Update": update.HANDLER,
        "Delete": delete.HANDLER,
        "Flag": flag.HANDLER,
        "Offer": offers.HANDLER,  # cooperation: a SolutionOffer for one of our challenges
        "Like": reactions.LIKE,
        "Announce": reactions.ANNOUNCE,
    }


def handler_for(activity_type: object, handlers: dict[str, Handler]) -> Handler | None:
    for name in as_list(activity_type):
        if isinstance(name, str) and name in handlers:
            return handlers[name]
    return None
