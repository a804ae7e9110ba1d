"""The declared state graphs: what they allow, what they refuse, and the CHECK conditions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cityfed.models import states
from cityfed.models.states import (
    COMMENT_GRAPH,
    DELIVERY_GRAPH,
    FOLLOW_GRAPH,
    OFFER_GRAPH,
    AnswerState,
    CommentState,
    DeliveryState,
    FollowState,
    IllegalTransition,
)


def test_a_state_is_its_stored_string() -> None:
    assert FollowState.ACCEPTED == "accepted" and f"{CommentState.HELD}" == "held"
    assert FollowState("pending") is FollowState.PENDING


def test_move_sets_allowed_states_and_refuses_others() -> None:
    offer = SimpleNamespace(state="pending")
    assert OFFER_GRAPH.move(offer, AnswerState.ACCEPTED) == "accepted" and offer.state == "accepted"
    with pytest.raises(IllegalTransition, match="accepted may not become rejected"):
        OFFER_GRAPH.move(offer, AnswerState.REJECTED)
    assert offer.state == "accepted"  # an illegal move changes nothing
    comment = SimpleNamespace(state="published")
    with pytest.raises(IllegalTransition):
        COMMENT_GRAPH.move(comment, CommentState.HELD)  # nothing goes back to being held
    with pytest.raises(IllegalTransition):
        FOLLOW_GRAPH.check("accepted", FollowState.PENDING)
    assert FOLLOW_GRAPH.allows(None, FollowState.ACCEPTED)  # a new row may start anywhere
    assert not FOLLOW_GRAPH.allows("no such state", FollowState.ACCEPTED)


def test_terminal_states_and_bulk_sources() -> None:
    assert set(DELIVERY_GRAPH.terminal) == {"done", "failed", "cancelled"}
    assert DELIVERY_GRAPH.sources(DeliveryState.PENDING, [DeliveryState.DEAD]) == ("dead",)
    with pytest.raises(IllegalTransition):
        DELIVERY_GRAPH.sources(DeliveryState.PENDING, [DeliveryState.DEAD, DeliveryState.DONE])


def test_every_object_type_with_a_state_has_a_graph_over_its_enum() -> None:
    assert states.OBJECT_STATES.keys() == states.OBJECT_GRAPHS.keys()
    for type_name, graph in states.OBJECT_GRAPHS.items():
        assert graph.kind is states.OBJECT_STATES[type_name]
    condition = states.object_state_check_sql()
    assert "type = 'Note' AND state IN ('held', 'published', 'removed')" in condition
