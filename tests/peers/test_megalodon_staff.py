"""A staff member signs in from megalodon (npm, pinned), the client library behind many
Mastodon apps (issue 17.6): OAuth with the out-of-band code, then the partner timeline, a
reply, a favourite and a relationship, with the partner node receiving the activities."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from typing import Any

from sqlalchemy import select

from cityfed.models import objects as object_queries
from cityfed.models.tables import Object, Reaction
from tests.integration import test_staff_auth as shared
from tests.integration.test_projects import HEAT_MAP
from tests.peers import tools
from tests.rig import TestNode, settle

fast_hashing, staff = shared.fast_hashing, shared.staff

MEGALODON_DIR = tools.PEERS / "megalodon"
SCRIPT = "megalodon_staff.mjs"
_CODE = re.compile(r'<code class="secret">([^<]+)</code>')


def run_megalodon(payload: dict[str, Any]) -> Any:
    """Run the script with megalodon's node_modules beside it, on the Node 22 of the peers."""
    tools.require("node")
    tools.require("megalodon")
    target = MEGALODON_DIR / SCRIPT
    shutil.copyfile(tools.HERE / SCRIPT, target)
    done = subprocess.run(
        [str(tools.NODE), str(target)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        check=False,
        timeout=120,
        cwd=MEGALODON_DIR,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return json.loads(done.stdout)


async def consent_code(node: TestNode, client: Any, url: str) -> str:
    """What the person does in their browser: sign-in session, consent, copy the code."""
    async with client.http.get(url, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
        consent = resp.headers["Location"]
    page = await client.get(consent)
    assert page.status == 200 and "megalodon test" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    answer = await client.post("/staff/oauth/authorize", {**fields, "decision": "allow"})
    found = _CODE.search(answer.text)
    assert found is not None, answer.text
    return found.group(1)


async def test_staff_reply_and_favourite_from_megalodon(nodes, staff) -> None:
    berlin, hamburg = await nodes("berlin"), await nodes("hamburg")
    await berlin.api("POST", "/follows", json={"account": hamburg.account}, status=201)
    await settle(berlin, hamburg)
    created = await hamburg.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(berlin, hamburg)
    editor = await staff(berlin, "editor")

    app = await asyncio.to_thread(run_megalodon, {"step": "register", "base": berlin.base})
    assert app["url"].startswith(berlin.base + "/oauth/authorize?")
    code = await consent_code(berlin, editor, app["url"])
    result = await asyncio.to_thread(
        run_megalodon,
        {
            "step": "act",
            "base": berlin.base,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "code": code,
            "object_uri": created["id"],
        },
    )
    assert result["scope"] == "read write follow" and result["me"] == berlin.handle
    assert result["reply_in_reply_to"] == result["status_id"]
    assert result["favourited"] is True and result["following"] is True

    await settle(berlin, hamburg)
    async with hamburg.node.db.session() as session:
        project = await object_queries.by_ap_id(session, created["id"])
        assert project is not None
        replies = list(
            await session.scalars(select(Object).where(Object.in_reply_to == created["id"]))
        )
        likes = list(
            await session.scalars(select(Reaction).where(Reaction.object_id == project.id))
        )
    assert ["Sent from megalodon" in r.document["content"] for r in replies] == [True]
    assert [like.kind for like in likes] == ["like"]
