"""NodeInfo 2.0 / 2.1 documents and the /.well-known/nodeinfo discovery document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMAS = {
    "2.0": "http://nodeinfo.diaspora.software/ns/schema/2.0",
    "2.1": "http://nodeinfo.diaspora.software/ns/schema/2.1",
}
REPOSITORY = "https://codeberg.org/cityfed/cityfed"
# The Mastodon client API version a node speaks (cityfed.mastodon). Client libraries that pick
# their dialect from NodeInfo (megalodon's detector) read ``metadata.upstream`` for servers whose
# software name they do not know.
MASTODON_API_VERSION = "4.3.0"


@dataclass(frozen=True, slots=True)
class Usage:
    users: int
    active_month: int
    active_halfyear: int
    local_posts: int


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "links": [
            {"rel": schema, "href": f"{base_url}/nodeinfo/{version}"}
            for version, schema in SCHEMAS.items()
        ]
    }


def nodeinfo(version: str, software_version: str, usage: Usage, node_name: str) -> dict[str, Any]:
    software: dict[str, Any] = {"name": "cityfed", "version": software_version}
    if version == "2.1":
        software["repository"] = REPOSITORY
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": False,
        "usage": {
            "users": {
                "total": usage.users,
                "activeMonth": usage.active_month,
                "activeHalfyear": usage.active_halfyear,
            },
            "localPosts": usage.local_posts,
        },
        "metadata": {
            "nodeName": node_name,
            "upstream": {"name": "mastodon", "version": MASTODON_API_VERSION},
        },
    }
