"""Where things live on this node. Ids are derived here only, so they stay stable and never move."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

INSTANCE_ACTOR_PATH = "/actor"
# Our own REST API. /api/v1 and /api/v2 belong to the Mastodon client API (§8).
API_PREFIX = "/api/cityfed/v1"


@dataclass(frozen=True, slots=True)
class Urls:
    base: str  # scheme://host[:port], no trailing slash

    def actor(self, handle: str) -> str:
        return f"{self.base}/actors/{quote(handle)}"

    def profile(self, handle: str) -> str:
        return f"{self.base}/@{quote(handle)}"

    def inbox(self, handle: str) -> str:
        return f"{self.actor(handle)}/inbox"

    def outbox(self, handle: str) -> str:
        return f"{self.actor(handle)}/outbox"

    def followers(self, handle: str) -> str:
        return f"{self.actor(handle)}/followers"

    def following(self, handle: str) -> str:
        return f"{self.actor(handle)}/following"

    def featured(self, handle: str) -> str:
        return f"{self.actor(handle)}/featured"

    def rsa_key_id(self, actor_id: str, generation: int = 1) -> str:
        return f"{actor_id}#main-key" if generation <= 1 else f"{actor_id}#main-key-{generation}"

    def ed25519_key_id(self, actor_id: str, generation: int = 1) -> str:
        return (
            f"{actor_id}#ed25519-key" if generation <= 1 else f"{actor_id}#ed25519-key-{generation}"
        )

    def media(self, key: str) -> str:
        """An upload's rendition under its content address (served by ``GET /media/{key}``)."""
        return f"{self.base}/media/{key}"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}{INSTANCE_ACTOR_PATH}"

    def new_activity_id(self) -> str:
        return f"{self.base}/activities/{uuid.uuid4()}"

    def new_object_id(self, kind: str) -> str:
        return f"{self.base}/{kind}/{uuid.uuid4()}"
