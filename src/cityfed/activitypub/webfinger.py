"""WebFinger (RFC 7033) and host-meta documents, and parsing of ``acct:`` resources and handles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

AP_TYPE = "application/activity+json"
PROFILE_REL = "http://webfinger.net/rel/profile-page"
JRD_TYPE = "application/jrd+json"

# RFC 7565 userpart, restricted to what actor handles use; domain is host[:port].
_ACCT = re.compile(
    r"^(?:acct:)?@?(?P<user>[A-Za-z0-9._~!$&'()*+,;=%-]+)@(?P<host>[A-Za-z0-9.:\[\]-]+)$"
)


class WebfingerError(ValueError):
    """A resource or JRD that is not a usable WebFinger answer."""


@dataclass(frozen=True, slots=True)
class Account:
    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"

    @property
    def resource(self) -> str:
        return f"acct:{self.user}@{self.host}"


def parse_account(text: str) -> Account:
    """``acct:user@host``, ``user@host`` or ``@user@host`` → Account; anything else is an error."""
    match = _ACCT.match(text.strip())
    if not match:
        raise WebfingerError(f"not an account handle: {text!r}")
    return Account(match["user"], match["host"].lower())


def jrd(subject: str, actor_id: str, profile_url: str, aliases: list[str]) -> dict[str, Any]:
    return {
        "subject": subject,
        "aliases": aliases,
        "links": [
            {"rel": "self", "type": AP_TYPE, "href": actor_id},
            {"rel": PROFILE_REL, "type": "text/html", "href": profile_url},
        ],
    }


def self_link(document: dict[str, Any]) -> str | None:
    """The ActivityPub actor URL of a JRD, as Mastodon picks it."""
    links = document.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        media = link.get("type", "")
        if (media == AP_TYPE or "activitystreams" in media) and isinstance(link.get("href"), str):
            href: str = link["href"]
            return href
    return None


def host_meta_xml(base_url: str) -> str:
    template = escape(f"{base_url}/.well-known/webfinger?resource={{uri}}", quote=True)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="{JRD_TYPE}" template="{template}"/>\n'
        "</XRD>\n"
    )


def webfinger_url(base_url: str, account: Account) -> str:
    return f"{base_url}/.well-known/webfinger?resource={quote(account.resource, safe=':@')}"
