"""Flag: a peer reports one of our cities or its objects; the report joins the admin queue.

Like Mastodon (``ActivityPub::Activity::Flag``) only the entries of ``object`` that are ours
count: a Flag naming nothing of ours is ignored. Senders are usually a node's instance actor
(an ``Application``), which the inbox verifies like any other actor. The reason arrives as HTML
or plain text from software we do not control; it is stored as plain text without any markup,
so no admin view can be made to render it.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from typing import Any

import nh3

from cityfed.activitypub.actor import authority, is_http_url
from cityfed.activitypub.vocab.common import as_list, id_of
from cityfed.federation.handlers.base import Context, Handler, Ignore
from cityfed.federation.notify import notify, title
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models import reports as report_queries
from cityfed.models.notifications import Kind
from cityfed.models.tables import Actor, Report

log = logging.getLogger("cityfed.handlers.flag")

MAX_CONTENT = 5000
# How many ``object`` entries are looked at: a Flag is small; a huge list is not a report.
MAX_ENTRIES = 100

_BREAKS = re.compile(r"<br\s*/?>|</(?:p|div|li|blockquote|h[1-6])\s*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t]+")
# Bidi embeddings/overrides/isolates can make a reason display as something else than it says.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _content_of(activity: dict[str, Any]) -> str:
    content = activity.get("content")
    if isinstance(content, str):
        return content
    content_map = activity.get("contentMap")
    if isinstance(content_map, dict):
        return next((v for v in content_map.values() if isinstance(v, str)), "")
    return ""


def plain_text(value: str, limit: int = MAX_CONTENT) -> str:
    """HTML (or text) → plain text without tags or control characters, at most ``limit`` long.

    Entities are decoded after stripping, and stripping repeats until nothing changes, so an
    escaped tag (``&lt;script&gt;``) cannot come back as a real one.
    """
    text = _BREAKS.sub("\n", value)
    for _ in range(4):
        stripped = html.unescape(nh3.clean(text, tags=set()))
        if stripped == text:
            break
        text = stripped
    else:
        # Still changing (nested escapes): keep the escaped form, which cannot hold a tag.
        text = nh3.clean(text, tags=set())
    text = "".join(
        ch
        for ch in text
        if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    )
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _named_ids(activity: dict[str, Any], own: str) -> list[str]:
    """The distinct http(s) ids in ``object`` that are on our host, in the order given."""
    ids: list[str] = []
    for entry in as_list(activity.get("object"))[:MAX_ENTRIES]:
        ap_id = id_of(entry)
        if ap_id and is_http_url(ap_id) and authority(ap_id) == own and ap_id not in ids:
            ids.append(ap_id)
    return ids


async def apply(ctx: Context) -> None:
    activity_id: str = ctx.activity["id"]
    origin = authority(ctx.sender.ap_id)
    # Allowlist mode limits who may take part, not who may warn us about abuse: any peer that is
    # not blocked may report (blocked ones never get this far).
    if ctx.node.policy.is_blocked(origin):
        raise Ignore(f"reports from {origin} are not accepted (blocked)")
    if await report_queries.by_activity(ctx.session, activity_id) is not None:
        raise Ignore("this Flag is already in the report queue")
    ids = _named_ids(ctx.activity, authority(ctx.node.urls.base))
    if not ids:
        raise Ignore("Flag names nothing of ours")
    session = ctx.session
    actors = {a.ap_id: a for a in await actor_queries.local_actors_among(session, ids)}
    objects = {o.ap_id: o for o in await object_queries.local_among(session, ids)}
    named_actors = [actors[i] for i in ids if i in actors]
    named_objects = [objects[i] for i in ids if i in objects]
    if named_actors:
        target: Actor | None = named_actors[0]
    elif named_objects:
        # Only posts were named: the report is about their author.
        target = await actor_queries.actor_by_id(session, named_objects[0].actor_id)
    else:
        raise Ignore("Flag names nothing of ours")
    assert target is not None
    content = plain_text(_content_of(ctx.activity))
    report = Report(
        activity_ap_id=activity_id,
        direction="received",
        origin_domain=origin,
        target_actor=target.ap_id,
        objects={"ids": [o.ap_id for o in named_objects]},
        content=content or None,
    )
    session.add(report)
    await session.flush()
    about = title(named_objects[0]) if named_objects else f"@{target.handle}"
    await notify(
        session,
        Kind.REPORT,
        f"{origin} reported {about}",
        report_id=report.id,
        link=ctx.node.urls.base + "/staff/admin/reports",
    )
    log.info(
        "report %s from %s about %s (%d object(s))",
        activity_id,
        origin,
        target.ap_id,
        len(named_objects),
    )


HANDLER = Handler(apply=apply)
