"""Display names of vocabulary terms (phases, statuses, states, goals), marked for translation.

The terms themselves (``pilot``, ``piloting``, ``pending``) are what actions/ and peers exchange;
only what a person reads is translated.
"""

from __future__ import annotations

from cityfed.activitypub.vocab.cooperation import ADOPTION_STATUSES
from cityfed.activitypub.vocab.project import CHALLENGE_PHASES, PROJECT_PHASES
from cityfed.web.staff.i18n import N_, Translator

KINDS = {"project": N_("Project"), "challenge": N_("Challenge")}
PHASES = {
    "idea": N_("Idea"),
    "planning": N_("Planning"),
    "pilot": N_("Pilot"),
    "operational": N_("Operational"),
    "completed": N_("Completed"),
    "discontinued": N_("Discontinued"),
    "open": N_("Open"),
    "evaluating": N_("Evaluating"),
    "solved": N_("Solved"),
    "closed": N_("Closed"),
}
ADOPTION_STATUS = {
    "considering": N_("Considering"),
    "planned": N_("Planned"),
    "piloting": N_("Piloting"),
    "operational": N_("Operational"),
    "discontinued": N_("Discontinued"),
}
STATES = {
    "pending": N_("Pending"),
    "accepted": N_("Accepted"),
    "rejected": N_("Rejected"),
    "published": N_("Published"),
    "held": N_("Held for moderation"),
    "removed": N_("Removed"),
    "retrying": N_("Retrying"),
    "retry": N_("Retrying"),
    "dead": N_("Dead"),
    "done": N_("Delivered"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
    "open": N_("Open"),
    "resolved": N_("Resolved"),
}
ROLES = {"admin": N_("Administrator"), "editor": N_("Editor")}
POLICIES = {
    "trusted": N_("Trusted"),
    "allowed": N_("Allowed"),
    "blocked": N_("Blocked"),
    "": N_("No policy"),
}
MODES = {
    "open": N_("Open: everyone but blocked domains may write to us"),
    "allowlist": N_("Allowlist: only trusted and allowed domains may write to us"),
}
# The UN's short names of the 17 Sustainable Development Goals (as in web/filters.py).
SDGS = {
    1: N_("No Poverty"),
    2: N_("Zero Hunger"),
    3: N_("Good Health and Well-being"),
    4: N_("Quality Education"),
    5: N_("Gender Equality"),
    6: N_("Clean Water and Sanitation"),
    7: N_("Affordable and Clean Energy"),
    8: N_("Decent Work and Economic Growth"),
    9: N_("Industry, Innovation and Infrastructure"),
    10: N_("Reduced Inequalities"),
    11: N_("Sustainable Cities and Communities"),
    12: N_("Responsible Consumption and Production"),
    13: N_("Climate Action"),
    14: N_("Life Below Water"),
    15: N_("Life on Land"),
    16: N_("Peace, Justice and Strong Institutions"),
    17: N_("Partnerships for the Goals"),
}

PHASES_OF = {"project": PROJECT_PHASES, "challenge": CHALLENGE_PHASES}
ADOPTION_STATUSES_IN_ORDER = ADOPTION_STATUSES


class Labels:
    """The display names in one language, for templates: ``labels.phase("pilot")``."""

    def __init__(self, translate: Translator) -> None:
        self._ = translate

    def _of(self, table: dict[str, str], term: str | None) -> str:
        return self._(table[term]) if term in table else (term or "")

    def kind(self, term: str) -> str:
        return self._of(KINDS, term)

    def phase(self, term: str) -> str:
        return self._of(PHASES, term)

    def status(self, term: str) -> str:
        return self._of(ADOPTION_STATUS, term)

    def state(self, term: str | None) -> str:
        return self._of(STATES, term)

    def role(self, term: str) -> str:
        return self._of(ROLES, term)

    def policy(self, term: str | None) -> str:
        return self._of(POLICIES, term or "")

    def mode(self, term: str) -> str:
        return self._of(MODES, term)

    def sdg(self, goal: int) -> str:
        return self._("SDG {number}: {name}", number=goal, name=self._(SDGS.get(goal, str(goal))))


# What actions/ say, in plain words, when they refuse a field: shown next to the field, translated
# when it is one of these (else in English, marked so). Refusals with a code of their own
# (``Problem`` in actions/) are extracted from there.
PROBLEMS = (
    N_("expected an http(s) URL"),
    N_("expected an ISO 8601 date (2026-05-01) or date-time"),
    N_("goals are numbered 1 to 17"),
    N_("expected a language tag such as en or pt-BR"),
    N_("must not be before start_date"),
    N_("give both latitude and longitude, or neither"),
    N_("expected an e-mail address such as name@city.example"),
    N_("this is not your current password"),
    N_("choose a password different from the current one"),
    N_("give the token a name (what it is for), at most 255 characters"),
    N_("the last admin account cannot be deleted"),
    N_("not one of your live projects"),
    N_("that is your own project"),
    N_("that is your own challenge"),
    N_("it is closed and takes no more offers"),
)
