"""Realistic documents and signed requests for the benchmarks.

Senders are remote cities with real RSA-2048 keys; what they send is a Mastodon-style
``Create{Note}`` of about 2 KB (a reply with a mention, hashtags and HTML content), signed with
draft-cavage over ``(request-target) host date digest content-type`` as Mastodon signs it.
Signing is done before the measured phase, in a process pool so both cores help.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

MASTODON_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "Hashtag": "as:Hashtag",
    },
]


@dataclass(frozen=True)
class Sender:
    """A remote city that sends us activities."""

    actor_id: str
    key_id: str
    private_pem: str
    public_pem: str

    @property
    def domain(self) -> str:
        return self.actor_id.split("/")[2]

    def actor_document(self) -> dict[str, Any]:
        base = self.actor_id.rsplit("/actors/", 1)[0]
        handle = self.actor_id.rsplit("/", 1)[1]
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_id,
            "type": "Organization",
            "preferredUsername": handle,
            "name": f"City of {handle.title()}",
            "inbox": f"{self.actor_id}/inbox",
            "outbox": f"{self.actor_id}/outbox",
            "followers": f"{self.actor_id}/followers",
            "endpoints": {"sharedInbox": f"{base}/inbox"},
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor_id,
                "publicKeyPem": self.public_pem,
            },
        }


def make_senders(count: int) -> list[Sender]:
    from cityfed.keys.generate import generate_rsa

    senders = []
    for index in range(count):
        pair = generate_rsa()
        actor_id = f"https://city{index}.bench.example/actors/city{index}"
        senders.append(Sender(actor_id, f"{actor_id}#main-key", pair.private_pem, pair.public_pem))
    return senders


def create_note(sender: Sender, serial: int, recipient: str) -> bytes:
    """A distinct Mastodon-style Create{Note} by ``sender`` (about 2 KB)."""
    base = sender.actor_id.rsplit("/actors/", 1)[0]
    note_id = f"{base}/statuses/{uuid.uuid4()}"
    published = f"2026-05-04T10:{serial // 60 % 60:02d}:{serial % 60:02d}Z"
    content = (
        f'<p><span class="h-card"><a href="{recipient}" class="u-url mention">@<span>city'
        "</span></a></span> Our mobility office piloted the shared cargo-bike scheme you "
        "published last spring: 40 bikes at 12 stations, booked through the city app, 9,000 "
        "trips in the first three months. We would like to compare notes on insurance and on "
        "how you handled winter storage. Minutes and the procurement template are attached to "
        'our project page. <a href="https://example.org/tags/mobility" class="mention '
        'hashtag" rel="tag">#<span>mobility</span></a> <a href="https://example.org/tags/'
        'cargobikes" class="mention hashtag" rel="tag">#<span>cargobikes</span></a></p>'
    )
    activity = {
        "@context": MASTODON_CONTEXT,
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": sender.actor_id,
        "published": published,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{sender.actor_id}/followers", recipient],
        "object": {
            "id": note_id,
            "type": "Note",
            "summary": None,
            "inReplyTo": f"{recipient.rsplit('/actors/', 1)[0]}/projects/{uuid.uuid4()}",
            "published": published,
            "url": note_id,
            "attributedTo": sender.actor_id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{sender.actor_id}/followers", recipient],
            "sensitive": False,
            "atomUri": note_id,
            "conversation": f"tag:{sender.domain},2026-05-04:objectId={serial}:objectType=Conv",
            "content": content,
            "attachment": [],
            "tag": [
                {"type": "Mention", "href": recipient, "name": "@city"},
                {"type": "Hashtag", "href": "https://example.org/tags/mobility", "name": "#mob"},
                {"type": "Hashtag", "href": "https://example.org/tags/cargobikes", "name": "#cb"},
            ],
            "replies": f"{note_id}/replies",
        },
    }
    return orjson.dumps(activity)


def _sign_chunk(args: tuple[Sender, str, str, list[int], str]) -> list[bytes]:
    from bench.httpload import raw_request
    from cityfed.activitypub import cavage
    from cityfed.keys.generate import load_private_pem

    sender, host, path, serials, recipient = args
    key = load_private_pem(sender.private_pem)
    out = []
    for serial in serials:
        body = create_note(sender, serial, recipient)
        headers = cavage.sign_request(
            "POST",
            f"http://{host}{path}",
            key,  # type: ignore[arg-type]
            sender.key_id,
            body=body,
            headers={"Content-Type": "application/activity+json"},
        )
        headers["User-Agent"] = "Mastodon/4.3.0 (bench)"
        out.append(raw_request("POST", path, headers, body, host=host))
    return out


def signed_inbox_requests(
    senders: list[Sender], count: int, host: str, recipient: str, path: str = "/inbox"
) -> list[bytes]:
    """``count`` distinct signed POSTs of Create{Note}, round-robin over ``senders``."""
    per_sender: dict[int, list[int]] = {}
    for serial in range(count):
        per_sender.setdefault(serial % len(senders), []).append(serial)
    jobs = []
    for index, serials in per_sender.items():
        for start in range(0, len(serials), 500):
            jobs.append((senders[index], host, path, serials[start : start + 500], recipient))
    with ProcessPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        chunks = list(pool.map(_sign_chunk, jobs))
    # Interleave senders as real traffic would be.
    requests: list[bytes] = []
    longest = max(len(chunk) for chunk in chunks)
    for position in range(longest):
        requests.extend(chunk[position] for chunk in chunks if position < len(chunk))
    return requests
