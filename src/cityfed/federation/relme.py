"""Verify a profile field's link the way Mastodon does (``app/services/verify_link_service.rb``):
fetch the linked page and look for a ``<a>`` or ``<link>`` whose ``rel`` contains ``me`` and whose
``href`` is our city's profile (its page ``/@handle`` or its actor id).

The page is fetched through the same guard as every other fetch (§6): never a blocked domain,
never a private or loopback address unless the node allows it, http(s) only, each redirect
checked again, at most ``fetch_max_bytes`` read and ``fetch_timeout`` seconds spent. Unlike
ActivityPub fetches it is not signed (it is a web page, Mastodon sends no signature either) and
it asks for ``text/html``. Any failure (network, status, size, not HTML) means "not verified";
it is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

import aiohttp

from cityfed.activitypub.actor import authority
from cityfed.federation.fetch import REDIRECTS, read_body
from cityfed.federation.netguard import BlockedAddressError, check_url
from cityfed.node import Node

log = logging.getLogger("cityfed.relme")

HTML_TYPES = ("text/html", "application/xhtml+xml")


class _RelMeLinks(HTMLParser):
    """Collects the ``href`` of every ``<a>`` and ``<link>`` with ``me`` among its ``rel``
    values (Mastodon's XPath: ``contains(concat(" ", normalize-space(@rel), " "), " me ")``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "link"):
            return
        values = dict(attrs)
        rel, href = values.get("rel") or "", values.get("href")
        if href and "me" in rel.lower().split():
            self.hrefs.append(href.strip())

    handle_startendtag = handle_starttag


def rel_me_links(html: str) -> list[str]:
    """The ``rel="me"`` link targets of an HTML page, in order."""
    parser = _RelMeLinks()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def links_back(html: str, profile_urls: Iterable[str]) -> bool:
    """Whether ``html`` has a ``rel="me"`` link to one of ``profile_urls`` (case-insensitive,
    as Mastodon compares them)."""
    wanted = {url.lower() for url in profile_urls}
    return any(href.lower() in wanted for href in rel_me_links(html))


async def fetch_page(node: Node, url: str) -> str | None:
    """The HTML of ``url`` within the fetch limits, or None (with a logged reason)."""
    settings = node.settings
    timeout = aiohttp.ClientTimeout(total=settings.fetch_timeout)
    await node.policy.refresh(node.db)
    url = urldefrag(url).url
    for _hop in range(settings.fetch_max_redirects + 1):
        if node.policy.is_blocked(authority(url)):
            log.info("rel=me check of %s skipped: %s is blocked", url, authority(url))
            return None
        try:
            check_url(
                url,
                allow_private=settings.allow_private_addresses,
                allow_http=settings.scheme == "http",
            )
            async with node.client().get(
                url,
                headers={"Accept": "text/html, application/xhtml+xml;q=0.9"},
                allow_redirects=False,
                timeout=timeout,
            ) as resp:
                if resp.status in REDIRECTS and "Location" in resp.headers:
                    url = urldefrag(urljoin(url, resp.headers["Location"])).url
                    continue
                if resp.status != 200:
                    log.info("rel=me check of %s: HTTP %s", url, resp.status)
                    return None
                if resp.content_type not in HTML_TYPES:
                    log.info("rel=me check of %s: not HTML but %r", url, resp.content_type)
                    return None
                if (resp.content_length or 0) > settings.fetch_max_bytes:
                    log.info("rel=me check of %s: page too large", url)
                    return None
                body = await read_body(resp.content, settings.fetch_max_bytes)
                if body is None:
                    log.info("rel=me check of %s: page too large", url)
                    return None
                return body.decode(resp.charset or "utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError, BlockedAddressError, LookupError) as exc:
            log.info("rel=me check of %s failed: %s: %s", url, type(exc).__name__, exc)
            return None
    log.info("rel=me check of %s: too many redirects", url)
    return None


async def verify_link(node: Node, url: str, profile_urls: Iterable[str]) -> bool:
    """Whether the page at ``url`` links back to our profile with ``rel="me"``."""
    html = await fetch_page(node, url)
    return html is not None and links_back(html, profile_urls)
