"""The test driver of the bovine-herd peer (bovine_peer.py): its /_test/ control routes."""

from __future__ import annotations

import uuid
from typing import Any

from tests.peers.drivers import PeerDriver


class BovineDriver(PeerDriver):
    name = "bovine"

    async def new_actor(self, prefix: str = "alice") -> str:
        answer = await self.call("/_test/actors", {"name": f"{prefix}{uuid.uuid4().hex[:8]}"})
        return answer["id"]

    def new_id(self, actor_id: str, kind: str = "activities") -> str:
        # bovine gives everything sent through an outbox an id of its own (update_id.py).
        return f"{self.base}/placeholder/{uuid.uuid4().hex}"

    async def lookup(self, actor_id: str, account: str, url: str) -> dict[str, Any]:
        return await self.call("/_test/lookup", {"actor": actor_id, "query": account})

    async def send(self, actor_id: str, activity: dict[str, Any], recipient: str) -> dict[str, Any]:
        body = {"actor": actor_id, "activity": activity, "recipient": recipient}
        return (await self.call("/_test/send", body))["sent"]

    async def following(self, actor_id: str) -> Any:
        return (await self.call(f"/_test/following?actor={actor_id}"))["following"]

    async def received(self) -> list[dict[str, Any]]:
        answer = await self.call("/_test/received")
        assert answer["contextMisses"] == [], "bovine needed a context nobody bundles"
        return answer["received"]
