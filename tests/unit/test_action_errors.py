"""Structured refusals (actions/errors.py): the text callers always saw, and the structure."""

from __future__ import annotations

import pytest

from cityfed.actions.errors import (
    TOO_LONG,
    ActionError,
    FieldError,
    vocabulary_checks,
)
from cityfed.actions.licences import spdx_expression
from cityfed.actions.peers import PolicyError


def test_a_refusal_reads_as_before_and_carries_its_structure() -> None:
    exc = FieldError("title", TOO_LONG, limit=300)
    assert isinstance(exc, ValueError)  # callers catching ValueError still catch it
    assert str(exc) == "title: at most 300 characters"
    assert exc.problem == "at most 300 characters"
    assert exc.as_json() == {
        "error": "title: at most 300 characters",
        "code": "too_long",
        "field": "title",
        "params": {"limit": 300},
    }


def test_a_refusal_without_a_code_of_its_own_is_invalid_and_keeps_its_text() -> None:
    exc = PolicyError("example.org is this node's own domain")
    assert (exc.code, exc.field, exc.params) == ("invalid", None, {})
    assert str(exc) == exc.template == "example.org is this node's own domain"


def test_a_checker_without_field_names_is_given_one() -> None:
    with pytest.raises(ActionError) as caught:
        spdx_expression("WTFPL-9")
    moved = caught.value.at("license")
    assert (moved.code, moved.field, moved.params) == (
        "licence_unknown",
        "license",
        {"names": "WTFPL-9"},
    )
    assert str(moved).startswith("license: WTFPL-9 is not on the SPDX licence list")


def test_the_vocabulary_checks_become_refusals_of_their_field() -> None:
    with pytest.raises(FieldError) as caught, vocabulary_checks():
        raise ValueError("language: not a BCP 47 language tag: 'x y'")
    assert caught.value.field == "language"
    assert str(caught.value) == "language: not a BCP 47 language tag: 'x y'"
    with pytest.raises(ActionError) as whole, vocabulary_checks():
        raise ValueError("something without a field")
    assert whole.value.field is None and str(whole.value) == "something without a field"
    with pytest.raises(KeyError), vocabulary_checks():
        raise KeyError("not a refusal: passes through")
