"""Questions about cooperation: who adopted a project, which offers solved a challenge.

Adoptions and SolutionOffers are ``objects`` rows whose ``target`` is the project or challenge
they are about; what they point at inside their document (``cf:localProject``, ``cf:solution``)
is read in Python, as a city has few of them and JSON operators differ between databases.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.vocab.common import id_of
from cityfed.models.actors import with_authors
from cityfed.models.objects import targeting
from cityfed.models.states import AnswerState
from cityfed.models.tables import Actor, Object

ADOPTION, SOLUTION_OFFER = "Adoption", "SolutionOffer"


async def targeting_with_authors(
    session: AsyncSession, type_name: str, target: str
) -> list[tuple[Object, Actor]]:
    """Adoptions or offers about ``target`` with who made them (blocked domains left out)."""
    return await with_authors(
        session, await targeting(session, type_name, target, hide_blocked=True)
    )


async def adoptions_of(
    session: AsyncSession, project_id: str, *, limit: int
) -> list[tuple[Object, Actor]]:
    """Who adopted ``project_id``: live Adoptions with their adopters, oldest first, none by a
    blocked domain and none the origin refused."""
    rows = await targeting(session, ADOPTION, project_id, limit=limit, hide_blocked=True)
    return await with_authors(session, (row for row in rows if row.state != AnswerState.REJECTED))


async def adoption_by(session: AsyncSession, actor_id: int, project_id: str) -> Object | None:
    """Our Adoption whose ``cf:localProject`` is ``project_id`` (one of ``actor_id``'s projects):
    how the adoption behind a "based on" project is going."""
    rows = await session.scalars(
        select(Object)
        .where(
            Object.type == ADOPTION,
            Object.actor_id == actor_id,
            Object.local.is_(True),
            Object.deleted_at.is_(None),
        )
        .order_by(Object.published.desc(), Object.id.desc())
    )
    for row in rows:
        if id_of(row.document.get("cf:localProject")) == project_id:
            return row
    return None


async def accepted_solutions(
    session: AsyncSession, challenge_id: str, *, limit: int
) -> list[tuple[Object, Actor]]:
    """The offers accepted for ``challenge_id``, with the offering cities, oldest first. Pending
    and rejected offers are between the two cities and never shown."""
    rows = await targeting(
        session,
        SOLUTION_OFFER,
        challenge_id,
        state=AnswerState.ACCEPTED,
        limit=limit,
        hide_blocked=True,
    )
    return await with_authors(session, rows)


async def solved_by(session: AsyncSession, actor_id: int, project_id: str) -> list[Object]:
    """The accepted offers in which ``actor_id`` offered its project ``project_id``, oldest first
    (the project page names the challenges it was chosen for)."""
    rows = await session.scalars(
        select(Object)
        .where(
            Object.type == SOLUTION_OFFER,
            Object.actor_id == actor_id,
            Object.local.is_(True),
            Object.state == AnswerState.ACCEPTED,
            Object.deleted_at.is_(None),
        )
        .order_by(Object.published, Object.id)
    )
    return [row for row in rows if id_of(row.document.get("cf:solution")) == project_id]
