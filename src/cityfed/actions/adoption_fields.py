"""What an adoption request may carry, and parsing it: progress and the adopting city's project.

``parse_progress`` reads the status and the fields ``schemas.objects.AdoptionFields`` declares;
``project_body`` makes our new project's form from the origin project and the fields the request
overrides.
"""

from __future__ import annotations

import re
from typing import Any

from cityfed.actions.errors import EXPECTED_STRING, ONE_OF, TOO_LONG
from cityfed.actions.project_fields import ALLOWED, LIMITS, FieldError
from cityfed.activitypub.vocab import Project
from cityfed.activitypub.vocab.cooperation import ADOPTION_STATUSES
from cityfed.schemas.objects import ADOPTION_SPECS

ADOPTION = "Adoption"
PROGRESS_FIELDS = frozenset({"status", *(spec.name for spec in ADOPTION_SPECS)})
# Project fields a city may override when adopting; outcomes and lessons learned belong to the
# adoption itself (they are what the origin wants to hear back).
PROJECT_OVERRIDES = ALLOWED["project"] - PROGRESS_FIELDS
ADOPT_FIELDS = PROGRESS_FIELDS | PROJECT_OVERRIDES | {"project"}
_HASHTAG = re.compile(r"^\w{1,100}$")


def _text(name: str, value: Any, limit: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FieldError(name, EXPECTED_STRING)
    if len(value.strip()) > limit:
        raise FieldError(name, TOO_LONG, limit=limit)
    return value.strip()


def parse_progress(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The status and the declared progress texts → Adoption keyword arguments."""
    values: dict[str, Any] = {}
    if not partial or "status" in body:
        status = body.get("status") or "considering"
        if status not in ADOPTION_STATUSES:
            raise FieldError("status", ONE_OF, choices=", ".join(ADOPTION_STATUSES))
        values["status"] = status
    for spec in ADOPTION_SPECS:
        if not partial or spec.name in body:
            values[spec.name] = _text(spec.name, body.get(spec.name), spec.limit)
    return values


def project_body(origin: Project, body: dict[str, Any]) -> dict[str, Any]:
    """Our new project: the origin's texts (phase "idea") unless the request overrides them."""
    defaults: dict[str, Any] = {
        "title": origin.name[: LIMITS["title"]],
        "teaser": origin.teaser[: LIMITS["teaser"]],
        "description": origin.description[: LIMITS["description"]],
        # A partner's tag our form would refuse must not make the whole adoption fail.
        "tags": [tag for tag in origin.tags if _HASHTAG.match(tag)],
        "sdgs": list(origin.sdgs),
        "language": origin.language,
        "phase": "idea",
    }
    return {**defaults, **{k: v for k, v in body.items() if k in PROJECT_OVERRIDES}}
