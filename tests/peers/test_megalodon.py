"""megalodon (npm, pinned in tests/peers/package.json, run with the Node 22 installed beside it)
reads a city anonymously (issue 17.6). Its streaming needs an OAuth token (megalodon refuses
to open a socket without one), so streaming is tested with Mastodon.py.

megalodon's ``detector`` used to say "Unknown SNS": it knows servers by NodeInfo's software name,
or by ``metadata.upstream.name`` = "mastodon", which a node now sends.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.peers.tools import require, run_node
from tests.rig import running_node

pytestmark = pytest.mark.slow


async def test_megalodon_reads_a_city(tmp_path: Path) -> None:
    require("node")
    async with running_node(tmp_path, "berlin") as node:
        for title, tags in [("Heat map", ["Climate"]), ("Bike lanes", ["Mobility"])]:
            body = {"title": title, "teaser": "t", "phase": "pilot", "tags": tags}
            await node.api("POST", "/projects", json=body, status=201)
        await node.api(
            "POST", "/challenges", json={"title": "Cool schools", "phase": "open"}, status=201
        )
        payload = {"base": node.base}
        seen = await asyncio.to_thread(run_node, "megalodon_client.mjs", payload)

    assert seen["sns"] == "mastodon"
    assert seen["instance"]["uri"] == node.domain
    assert seen["instance"]["stats"]["status_count"] == 3
    assert seen["account"]["acct"] == "berlin"
    newest, second = seen["statuses"]
    assert "Cool schools" in newest["content"] and "Bike lanes" in second["content"]
    assert 'rel="next"' in seen["link"]
    assert ["Heat map" in s["content"] for s in seen["older"]] == [True]
    assert seen["status"]["id"] == newest["id"]
    assert seen["context"] == {"ancestors": [], "descendants": []}
    assert len(seen["local"]) == 3
    assert ["Heat map" in s["content"] for s in seen["tag"]] == [True]
    assert ["Heat map" in s["content"] for s in seen["search"]["statuses"]] == [True]
    assert {tag["name"] for tag in seen["trends"]} == {"Climate", "Mobility"}
