"""Every state a row can be in, and which changes of state are allowed: one place per kind.

A state is a ``StrEnum``, so it compares equal to (and is stored as) the plain string it always
was; the schema holds a CHECK constraint built from the same members (migration 0009). Each kind
has one ``StateGraph`` (after Takahē's ``StateGraph``): the table of allowed transitions. Code that
changes a state asks its graph (``GRAPH.move(row, new)``), so an illegal change raises instead
of being written.

``Object.state`` means different things per object type: a comment's moderation state, an
adoption's or an offer's answer. ``object_states(type)`` names the enum for a type, and the
CHECK constraint on ``objects`` pairs each type with its own states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar


class FollowState(StrEnum):
    """A follow between two actors (ours of a partner, or a partner's of ours)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CommentState(StrEnum):
    """A comment's moderation state (``Object.state`` of a Note)."""

    HELD = "held"
    PUBLISHED = "published"
    REMOVED = "removed"


class AnswerState(StrEnum):
    """The owner's answer to an Adoption of its project or a SolutionOffer to its challenge
    (``Object.state`` of those types). A partner's adoption of a third city's project has none:
    the answer is between the two of them (``None``)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class InboxState(StrEnum):
    """A received activity in the inbox queue."""

    PENDING = "pending"
    RETRY = "retry"
    DONE = "done"
    FAILED = "failed"


class DeliveryState(StrEnum):
    """One outgoing activity to one inbox in the delivery queue."""

    PENDING = "pending"
    RETRY = "retry"
    DONE = "done"
    FAILED = "failed"  # the receiver refused it for good (a 4xx)
    DEAD = "dead"  # retries ran out; an admin may requeue or cancel it
    CANCELLED = "cancelled"


class ReportState(StrEnum):
    """A received report: open until an admin resolves it (stored as ``Report.resolved_at``)."""

    OPEN = "open"
    RESOLVED = "resolved"


class PeerPolicy(StrEnum):
    """What an admin decided for a peer domain (``Peer.policy``; ``None``: nothing)."""

    TRUSTED = "trusted"
    ALLOWED = "allowed"
    BLOCKED = "blocked"


# Queue states a worker still has to handle (leases, retries), and those it is done with.
DUE_STATES = (DeliveryState.PENDING, DeliveryState.RETRY)

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(ValueError):
    """A change of state that the kind's graph does not allow (a bug, or a stale row)."""


class _Stateful(Protocol):
    state: Any


class StateGraph(Generic[S]):
    """The allowed transitions of one kind of state: ``{from: {to, ...}}``. A state that stays
    the same is a transition too, allowed only where listed (answering twice may be harmless
    for one kind and a bug for another)."""

    def __init__(self, kind: type[S], transitions: Mapping[S, Iterable[S]]) -> None:
        self.kind = kind
        self.transitions: dict[S, frozenset[S]] = {
            state: frozenset(transitions.get(state, ())) for state in kind
        }

    def allows(self, current: str | None, new: str) -> bool:
        if current is None:
            return True  # a new row, or a state never set (e.g. a third city's adoption)
        try:
            return self.kind(new) in self.transitions[self.kind(current)]
        except ValueError:
            return False

    def check(self, current: str | None, new: S) -> S:
        """``new``, if ``current`` may become it; else ``IllegalTransition``."""
        if not self.allows(current, new):
            raise IllegalTransition(f"{self.kind.__name__}: {current} may not become {new}")
        return new

    def move(self, row: _Stateful, new: S) -> S:
        """Set ``row.state`` to ``new``, if its graph allows that."""
        row.state = self.check(row.state, new)
        return new

    def sources(self, new: S, among: Iterable[S]) -> tuple[S, ...]:
        """``among``, after checking that each may become ``new``: the states a bulk UPDATE
        may select (``.where(table.state.in_(GRAPH.sources(new, among)))``)."""
        states = tuple(among)
        for state in states:
            self.check(state, new)
        return states

    @property
    def terminal(self) -> tuple[S, ...]:
        """The states nothing leaves."""
        return tuple(state for state, to in self.transitions.items() if not to - {state})


_F, _C, _A = FollowState, CommentState, AnswerState
_I, _D = InboxState, DeliveryState

# A partner may accept a follow it rejected, and reject (remove) a follower it accepted; a repeated
# Follow or a repeated answer changes nothing; a follow asked again after a refusal is pending.
FOLLOW_GRAPH = StateGraph(
    FollowState,
    {
        _F.PENDING: {_F.PENDING, _F.ACCEPTED, _F.REJECTED},
        _F.ACCEPTED: {_F.ACCEPTED, _F.REJECTED},
        _F.REJECTED: {_F.PENDING, _F.ACCEPTED, _F.REJECTED},
    },
)

# Moderators may approve a removed comment or remove a published one, and deciding again is
# harmless (it is audited); nothing goes back to being held.
COMMENT_GRAPH = StateGraph(
    CommentState,
    {
        _C.HELD: {_C.PUBLISHED, _C.REMOVED},
        _C.PUBLISHED: {_C.PUBLISHED, _C.REMOVED},
        _C.REMOVED: {_C.PUBLISHED, _C.REMOVED},
    },
)

# An offer is answered once, by the challenge's owner.
OFFER_GRAPH = StateGraph(
    AnswerState,
    {_A.PENDING: {_A.ACCEPTED, _A.REJECTED}},
)

# The adopted project's owner answers an adoption; a later answer of the origin wins.
ADOPTION_GRAPH = StateGraph(
    AnswerState,
    {
        _A.PENDING: {_A.ACCEPTED, _A.REJECTED},
        _A.ACCEPTED: {_A.ACCEPTED, _A.REJECTED},
        _A.REJECTED: {_A.ACCEPTED, _A.REJECTED},
    },
)

INBOX_GRAPH = StateGraph(
    InboxState,
    {
        _I.PENDING: {_I.RETRY, _I.DONE, _I.FAILED},
        _I.RETRY: {_I.RETRY, _I.DONE, _I.FAILED},
    },
)

# A dead delivery waits for an admin: requeued (pending again) or cancelled. A blocked domain's
# queued deliveries are cancelled.
DELIVERY_GRAPH = StateGraph(
    DeliveryState,
    {
        _D.PENDING: {_D.RETRY, _D.DONE, _D.FAILED, _D.DEAD, _D.CANCELLED},
        _D.RETRY: {_D.RETRY, _D.DONE, _D.FAILED, _D.DEAD, _D.CANCELLED},
        _D.DEAD: {_D.PENDING, _D.CANCELLED},
    },
)

REPORT_GRAPH = StateGraph(ReportState, {ReportState.OPEN: {ReportState.RESOLVED}})

# ``Object.state`` per object type: which enum, and which graph moves it.
OBJECT_STATES: dict[str, type[StrEnum]] = {
    "Note": CommentState,
    "Adoption": AnswerState,
    "SolutionOffer": AnswerState,
}
OBJECT_GRAPHS: dict[str, StateGraph[Any]] = {
    "Note": COMMENT_GRAPH,
    "Adoption": ADOPTION_GRAPH,
    "SolutionOffer": OFFER_GRAPH,
}


def check_sql(column: str, kind: type[StrEnum], *, nullable: bool = False) -> str:
    """The CHECK constraint's condition: ``column`` holds one of ``kind``'s values."""
    values = ", ".join(f"'{member.value}'" for member in kind)
    condition = f"{column} IN ({values})"
    return f"{column} IS NULL OR {condition}" if nullable else condition


def object_state_check_sql() -> str:
    """``objects.state``: NULL, or one of the states of the object's type."""
    per_type = " OR ".join(
        f"(type = '{type_name}' AND {check_sql('state', kind)})"
        for type_name, kind in OBJECT_STATES.items()
    )
    return f"state IS NULL OR {per_type}"
