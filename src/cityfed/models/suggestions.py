"""Suggested solutions (issue 18.4): for one of our challenges, the projects known here (ours and
our partners') that might solve it, ranked, each with the reasons it was suggested.

The ranking, the same for every face (README, "Suggested solutions"):

- each shared tag scores ``TAG_POINTS``, each shared SDG ``SDG_POINTS``;
- text similarity: the Jaccard overlap of the words of title, teaser and description (lower
  case, words of 3+ letters, stop words removed), times ``TEXT_POINTS``;
- phase: an operational project adds ``PHASE_POINTS["operational"]``, a pilot less, an idea
  nothing, since a working solution is worth more to a city than a plan.

A project is suggested only if it shares something with the challenge (a tag, an SDG or words);
the phase alone never makes a suggestion. Ties go to the newer project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.vocab import Challenge, Project
from cityfed.models.tables import Actor, Object

TAG_POINTS = 3.0
SDG_POINTS = 2.0
TEXT_POINTS = 10.0
PHASE_POINTS = {"operational": 3.0, "pilot": 2.0, "idea": 0.0}
CANDIDATES = 2000  # newest projects considered
# Words that say nothing about a topic, in the demo's languages (English, German, Catalan).
_STOP_TEXT = """
the and for with that this from are was were has have had not but our their its into what which
who how all any can may will more most than then them they there when where while also each other
such only own same very just about over under after before since
der die das und mit von für den dem des ein eine einer nicht auf ist sind wir
els les per amb que una dels del
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Suggestion:
    project: Object
    author: Actor
    title: str
    score: float
    shared_tags: list[str]
    shared_sdgs: list[int]
    text_overlap: float  # 0..1
    phase: str
    reasons: str


def _tags(tags: list[str]) -> set[str]:
    return {tag.lstrip("#").lower() for tag in tags}


def words(*texts: str) -> set[str]:
    return {w for text in texts for w in WORD.findall(text.lower()) if w not in STOP_WORDS}


def score(
    challenge: Challenge, project: Project, where: str
) -> tuple[float, list[str], list[int], float, str]:
    """The score of ``project`` for ``challenge`` and its parts, with the reasons in words."""
    tags = sorted(_tags(challenge.tags) & _tags(project.tags))
    sdgs = sorted(set(challenge.sdgs) & set(project.sdgs))
    mine = words(challenge.name, challenge.teaser, challenge.description)
    theirs = words(project.name, project.teaser, project.description)
    overlap = len(mine & theirs) / len(mine | theirs) if mine and theirs else 0.0
    if not tags and not sdgs and not overlap:
        return 0.0, [], [], 0.0, ""
    total = (
        TAG_POINTS * len(tags)
        + SDG_POINTS * len(sdgs)
        + TEXT_POINTS * overlap
        + PHASE_POINTS.get(project.phase, 0.0)
    )
    shares = [f"#{tag}" for tag in tags]
    if sdgs:
        shares.append("SDG " + ", ".join(str(goal) for goal in sdgs))
    parts = []
    if shares:
        parts.append("shares " + ", ".join(shares))
    if overlap:
        parts.append(f"{round(overlap * 100)}% of words in common")
    parts.append(f"{project.phase} in {where}")
    return total, tags, sdgs, overlap, "; ".join(parts)


async def for_challenge(
    session: AsyncSession,
    challenge_row: Object,
    *,
    limit: int = 10,
    by_actor_id: int | None = None,
) -> list[Suggestion]:
    """The projects that might solve ``challenge_row``, best first; with ``by_actor_id``, only
    that city's own projects (what we could offer for a partner's challenge)."""
    challenge = Challenge.from_plain(challenge_row.document)
    query = (
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(Object.type == "Project", Object.deleted_at.is_(None))
    )
    if by_actor_id is not None:
        query = query.where(Object.actor_id == by_actor_id, Object.local.is_(True))
    rows = await session.execute(
        query.order_by(Object.published.desc(), Object.id.desc()).limit(CANDIDATES)
    )
    found: list[Suggestion] = []
    for row, author in rows:
        try:
            project = Project.from_plain(row.document)
        except ValueError:
            continue  # stored under an older vocabulary: not suggestible
        # Where it runs: the project's own place if it names one, else the city publishing it.
        where = (project.location.name if project.location else "") or author.name or author.handle
        total, tags, sdgs, overlap, reasons = score(challenge, project, where)
        if total:
            found.append(
                Suggestion(
                    row, author, project.name, total, tags, sdgs, overlap, project.phase, reasons
                )
            )
    # Stable sort: equal scores keep the newest-first order of the query.
    found.sort(key=lambda s: s.score, reverse=True)
    return found[:limit]
