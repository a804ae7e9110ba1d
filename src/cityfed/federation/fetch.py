"""Signed GETs of remote ActivityPub documents, with the limits of §6.

Every fetch is signed by the instance actor (so it works against servers in authorized-fetch mode),
never asks a blocked domain (§7), refuses non-public targets unless the node allows them, follows
at most a few redirects (each one checked again), reads the body to its end (documents arrive in
pieces) but never past the size limit, and insists that a document really comes from the origin
its ``id`` names. A ``FetchError`` keeps the remote status or the network error, so the caller can
tell a passing failure (retry later) from a final one (``retry.classify_fetch``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin

import aiohttp
import orjson

from cityfed.activitypub import cavage
from cityfed.activitypub.actor import authority
from cityfed.activitypub.links import UnsafeLinkError, check_links
from cityfed.federation.netguard import BlockedAddressError, check_url
from cityfed.http.responses import AP_ACCEPT
from cityfed.media.remote import FetchedBody, RemoteFetchError
from cityfed.node import Node

log = logging.getLogger("cityfed.fetch")

JSON_TYPES = (
    "application/activity+json",
    "application/ld+json",
    "application/json",
    "application/jrd+json",
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A remote document could not be had.

    ``status`` is the remote HTTP status if there was one, ``error`` the network error (timeout,
    refused connection) if that is why, ``retry_after`` the server's Retry-After header. With
    neither status nor error, the document itself was refused (too large, not JSON, wrong id):
    asking again will not help.
    """

    def __init__(
        self,
        url: str,
        reason: str,
        status: int | None = None,
        *,
        error: BaseException | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(f"fetching {url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.error = error
        self.retry_after = retry_after

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # the final URL after redirects
    document: dict[str, Any]


async def read_body(content: aiohttp.StreamReader, limit: int) -> bytes | None:
    """The whole body, however many pieces it arrives in; None once it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_json(
    node: Node,
    url: str,
    *,
    signed: bool = True,
    accept: str = AP_ACCEPT,
    max_redirects: int | None = None,
    client: aiohttp.ClientSession | None = None,
) -> Fetched:
    """GET a JSON document; ``client`` is the connection budget to use (the node's shared client
    unless given), ``max_redirects`` lowers the configured redirect limit."""
    settings = node.settings
    url = urldefrag(url).url
    timeout = aiohttp.ClientTimeout(total=settings.fetch_timeout)
    key = await node.instance_signing_key() if signed else None
    await node.policy.refresh(node.db)
    redirects = settings.fetch_max_redirects
    if max_redirects is not None:
        redirects = min(redirects, max_redirects)
    http = client or node.client()
    for _hop in range(redirects + 1):
        # Checked per hop: a redirect must not lead us to a blocked domain either (§7).
        if node.policy.is_blocked(authority(url)):
            raise FetchError(url, f"{authority(url)} is blocked")
        try:
            check_url(
                url,
                allow_private=settings.allow_private_addresses,
                allow_http=settings.scheme == "http",
            )
        except BlockedAddressError as exc:
            raise FetchError(url, str(exc)) from None
        headers = {"Accept": accept}
        if key is not None:
            headers.update(
                cavage.sign_request("GET", url, key.private_key, key.key_id, headers=headers)
            )
        try:
            async with http.get(
                url, headers=headers, allow_redirects=False, timeout=timeout
            ) as resp:
                if resp.status in REDIRECTS and "Location" in resp.headers:
                    url = urldefrag(urljoin(url, resp.headers["Location"])).url
                    continue
                if resp.status != 200:
                    raise FetchError(
                        url,
                        f"HTTP {resp.status}",
                        resp.status,
                        retry_after=resp.headers.get("Retry-After"),
                    )
                if resp.content_type not in JSON_TYPES:
                    raise FetchError(url, f"not JSON but {resp.content_type!r}", resp.status)
                if (resp.content_length or 0) > settings.fetch_max_bytes:
                    raise FetchError(url, "document too large", resp.status)
                body = await read_body(resp.content, settings.fetch_max_bytes)
                if body is None:
                    raise FetchError(url, "document too large", resp.status)
        except (aiohttp.ClientError, TimeoutError, BlockedAddressError) as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}", error=exc) from None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FetchError(url, "malformed JSON") from None
        if not isinstance(document, dict):
            raise FetchError(url, "document is not a JSON object")
        return Fetched(url, document)
    raise FetchError(url, f"more than {redirects} redirects")


async def fetch_object(
    node: Node,
    url: str,
    *,
    max_redirects: int | None = None,
    client: aiohttp.ClientSession | None = None,
) -> dict[str, Any]:
    """Fetch an ActivityPub object and make sure it is the one its origin serves under its id.

    A document may claim any ``id``; we accept it only if that id is on the host we fetched from,
    and if it differs from the URL we asked for, we fetch it again by its id (Mastodon does the
    same) and require the id to be stable.
    """
    fetched = await fetch_json(node, url, max_redirects=max_redirects, client=client)
    _check_links(url, fetched.document)
    doc_id = fetched.document.get("id")
    if not isinstance(doc_id, str):
        raise FetchError(url, "document has no id")
    if doc_id == fetched.url or doc_id == urldefrag(url).url:
        if authority(doc_id) != authority(fetched.url):
            raise FetchError(url, "document id is not on the host that served it")
        return fetched.document
    refetched = await fetch_json(node, doc_id, max_redirects=max_redirects, client=client)
    _check_links(url, refetched.document)
    if refetched.document.get("id") != doc_id or authority(refetched.url) != authority(doc_id):
        raise FetchError(url, "document id does not match its origin")
    return refetched.document


def _check_links(url: str, document: dict[str, Any]) -> None:
    """Every id, url and href of a fetched object is http(s), or it is refused whole (§6)."""
    try:
        check_links(document)
    except UnsafeLinkError as exc:
        raise FetchError(url, str(exc)) from None


async def fetch_bytes(
    node: Node,
    url: str,
    *,
    max_bytes: int,
    accept: str = "*/*",
    signed: bool = False,
    client: aiohttp.ClientSession | None = None,
) -> FetchedBody:
    """GET a binary body (a partner's image) with the same guarantees as ``fetch_json``: the
    blocked-domain check and the SSRF guard on every redirect hop, at most the configured number of
    redirects, the configured timeout, and the body read to its end but never past ``max_bytes``.

    Unsigned by default: media servers (and CDNs in front of them) serve files to anyone, and a
    signature would only tell them more about us. Raises ``RemoteFetchError`` (the media cache's
    error type, so this function *is* a ``media.remote.BinaryFetcher`` once bound to a node).
    """
    settings = node.settings
    url = urldefrag(url).url
    timeout = aiohttp.ClientTimeout(total=settings.fetch_timeout)
    key = await node.instance_signing_key() if signed else None
    await node.policy.refresh(node.db)
    http = client or node.client()
    for _hop in range(settings.fetch_max_redirects + 1):
        if node.policy.is_blocked(authority(url)):
            raise RemoteFetchError(url, f"{authority(url)} is blocked")
        try:
            check_url(
                url,
                allow_private=settings.allow_private_addresses,
                allow_http=settings.scheme == "http",
            )
        except BlockedAddressError as exc:
            raise RemoteFetchError(url, str(exc)) from None
        headers = {"Accept": accept}
        if key is not None:
            headers.update(
                cavage.sign_request("GET", url, key.private_key, key.key_id, headers=headers)
            )
        try:
            async with http.get(
                url, headers=headers, allow_redirects=False, timeout=timeout
            ) as resp:
                if resp.status in REDIRECTS and "Location" in resp.headers:
                    url = urldefrag(urljoin(url, resp.headers["Location"])).url
                    continue
                if resp.status != 200:
                    raise RemoteFetchError(url, f"HTTP {resp.status}", resp.status)
                # A declared length over the limit is refused before reading a byte; a body
                # without one (or lying about it) is cut off once it grows past the limit.
                if (resp.content_length or 0) > max_bytes:
                    raise RemoteFetchError(url, f"file larger than {max_bytes} bytes", resp.status)
                body = await read_body(resp.content, max_bytes)
                if body is None:
                    raise RemoteFetchError(url, f"file larger than {max_bytes} bytes", resp.status)
                content_type = resp.headers.get("Content-Type")
        except (aiohttp.ClientError, TimeoutError, BlockedAddressError) as exc:
            raise RemoteFetchError(url, f"{type(exc).__name__}: {exc}") from None
        log.debug("fetched %s: %d bytes", url, len(body))
        return FetchedBody(url, content_type, body)
    raise RemoteFetchError(url, f"more than {settings.fetch_max_redirects} redirects")


@dataclass(frozen=True, slots=True)
class NodeBinaryFetcher:
    """``fetch_bytes`` bound to a node: the ``BinaryFetcher`` the remote media cache is given."""

    node: Node

    async def __call__(self, url: str, *, max_bytes: int, accept: str) -> FetchedBody:
        return await fetch_bytes(self.node, url, max_bytes=max_bytes, accept=accept)
