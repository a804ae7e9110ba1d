"""What partners did with an object (discussion, adoptions, solutions), in one view model."""

from __future__ import annotations

from dataclasses import dataclass, field

from cityfed.web.adoptions import AdoptionView
from cityfed.web.references import Reference
from cityfed.web.solutions import SolutionView
from cityfed.web.threads import Discussion


@dataclass(frozen=True)
class Cooperation:
    """The part of an object's page about partners: its discussion, who adopted it (or how our
    adoption it is based on goes), and its solutions (or the challenges it solves)."""

    discussion: Discussion
    adopted_by: list[AdoptionView] = field(default_factory=list)
    adoption: AdoptionView | None = None
    solutions: list[SolutionView] = field(default_factory=list)
    solution_for: list[Reference] = field(default_factory=list)
    # Likes and Announces (boosts) from the fediverse.
    likes: int = 0
    boosts: int = 0
