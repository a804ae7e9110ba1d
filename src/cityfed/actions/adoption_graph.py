"""Reading adoptions: the API's view of one, and the adoption graph around a project.

Read-only: the graph is built from what this node knows (our rows and partners' copies), breadth
first and bounded by ``GRAPH_DEPTH``/``GRAPH_NODES``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cityfed.actions.adoption_fields import ADOPTION
from cityfed.actions.projects import load
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab import Project
from cityfed.activitypub.vocab.common import id_of, text_of
from cityfed.activitypub.vocab.cooperation import Adoption
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object
from cityfed.schemas.objects import ADOPTION_SPECS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# The graph is built from what this node knows; bound it so a long chain stays cheap.
GRAPH_DEPTH = 6
GRAPH_NODES = 200


def view(row: Object) -> dict[str, Any]:
    """The API's JSON view of an adoption (ours or a partner's)."""
    adoption = Adoption.from_plain(row.document)
    return {
        "id": adoption.id,
        "project": adoption.project,
        "local_project": adoption.local_project,
        "adopter": adoption.adopter,
        "status": adoption.status,
        "state": row.state,
        **{spec.name: getattr(adoption, spec.name) for spec in ADOPTION_SPECS},
        "published": format_datetime(row.published),
        "updated": format_datetime(row.updated) if row.updated else None,
    }


async def _project_node(session: AsyncSession, ap_id: str) -> tuple[dict[str, Any], str | None]:
    """A graph node for a project id, and the project it is based on (if we know it)."""
    out: dict[str, Any] = {"id": ap_id, "title": None, "owner": None, "local": False}
    row = await object_queries.by_ap_id(session, ap_id)
    if row is None or row.type != "Project" or row.deleted_at is not None:
        return out, None
    owner = await session.get(Actor, row.actor_id)
    out["local"] = row.local
    if owner is not None:
        out["owner"] = {
            "actor": owner.ap_id,
            "name": owner.name,
            "account": f"{owner.handle}@{owner.domain}",
        }
    try:
        project = load(row)
    except ValueError:
        return out, None
    out["title"] = project.name
    return out, project.is_based_on if isinstance(project, Project) else None


async def graph(session: AsyncSession, project_id: str) -> dict[str, Any]:
    """Every adoption this node knows around ``project_id``: who adopted it, whom it adopts, and
    so on outwards (breadth first, cycle-safe, at most ``GRAPH_DEPTH`` steps/``GRAPH_NODES``)."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    queue: list[tuple[str, int]] = [(project_id, 0)]
    while queue and len(nodes) < GRAPH_NODES:
        ap_id, depth = queue.pop(0)
        if ap_id in nodes:
            continue
        node, based_on = await _project_node(session, ap_id)
        nodes[ap_id] = node
        found: list[tuple[str, str, Object | None]] = []
        # Down: adoptions of this project (ours, received, or partners' copies).
        for row in await object_queries.targeting(session, ADOPTION, ap_id):
            local_project = id_of(row.document.get("cf:localProject"))
            if local_project:
                found.append((local_project, ap_id, row))
        # Up: the project this one is based on, through its adoption when we know it.
        if based_on:
            ups = [
                row
                for row in await object_queries.targeting(session, ADOPTION, based_on)
                if id_of(row.document.get("cf:localProject")) == ap_id
            ]
            found.extend((ap_id, based_on, row) for row in ups)
            if not ups:
                found.append((ap_id, based_on, None))
        for source, target, adoption in found:
            key = (source, target, adoption.ap_id if adoption else None)
            if key not in edges:
                edges[key] = {
                    "from": source,
                    "to": target,
                    "adoption": adoption.ap_id if adoption else None,
                    "status": text_of(adoption.document.get("cf:status")) if adoption else None,
                    "adopter": id_of(adoption.document.get("attributedTo")) if adoption else None,
                }
            other = source if target == ap_id else target
            if other not in nodes and depth < GRAPH_DEPTH:
                queue.append((other, depth + 1))
    # Endpoints beyond the bounds are listed without being followed further.
    for edge in edges.values():
        for end in (edge["from"], edge["to"]):
            if end not in nodes:
                nodes[end] = (await _project_node(session, end))[0]
    # An adopter's project we hold no copy of is still somebody's: name the adopter at least.
    for edge in edges.values():
        node = nodes[edge["from"]]
        if node["owner"] is None and edge["adopter"]:
            node["owner"] = {"actor": edge["adopter"], "name": None, "account": None}
    return {"project": project_id, "nodes": list(nodes.values()), "edges": list(edges.values())}
