"""Structured refusals: what an action says when it will not make a change.

An ``ActionError`` carries a stable ``code`` (for programs), the ``field`` at fault (or None)
and the ``params`` that fill its message. The message itself is an English template declared
once, with its code, as a ``Problem`` here; faces render it their way:

* the REST API answers ``{"error": "<field>: <English message>", "code", "field", "params"}``
  (``error`` as before, for the clients that read it);
* the staff pages translate the template through the gettext catalogues and fill in the
  parameters (``web/staff/i18n.py``), so no face parses English text.

``str(exc)`` stays ``"<field>: <message>"`` (the message alone without a field) and every
ActionError is a ValueError, so callers written against the former plain exceptions still work.
A refusal given as a plain string (a message used once) gets the code ``invalid`` and is still
translated, by its text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """A kind of refusal: its code and its English message, ``{name}`` for each parameter."""

    code: str
    message: str


# The problems more than one action reports (the others are declared where they are raised).
REQUIRED = Problem("required", "this field is required")
EXPECTED_STRING = Problem("expected_string", "expected a string")
TOO_LONG = Problem("too_long", "at most {limit} characters")
TOO_SHORT = Problem("too_short", "at least {limit} characters")
ONE_OF = Problem("one_of", "one of {choices}")
TOO_MANY = Problem("too_many", "at most {limit}")
NOT_FOUND = Problem("not_found", "no such {what}")
DOMAIN_BLOCKED = Problem("domain_blocked", "{domain} is blocked")


class ActionError(ValueError):
    """A refused change. ``problem`` is the English message with its parameters filled in."""

    def __init__(self, problem: Problem | str, *, field: str | None = None, **params: Any) -> None:
        if isinstance(problem, str):
            problem = Problem("invalid", problem)
        self.code = problem.code
        self.template = problem.message
        self.field = field
        self.params = params
        self.problem = problem.message.format(**params) if params else problem.message
        super().__init__(f"{field}: {self.problem}" if field else self.problem)

    def at(self, name: str) -> FieldError:
        """The same refusal, about the field ``name`` (a checker that knows no field names)."""
        return FieldError(name, Problem(self.code, self.template), **self.params)

    def as_json(self) -> dict[str, Any]:
        """The API's error body: ``error`` in English (as it always was) and the structure."""
        return {
            "error": str(self),
            "code": self.code,
            "field": self.field,
            "params": {key: _plain(value) for key, value in self.params.items()},
        }


class FieldError(ActionError):
    """A submitted field is invalid; ``str()`` starts with the field name."""

    field: str

    def __init__(self, name: str, problem: Problem | str, **params: Any) -> None:
        super().__init__(problem, field=name, **params)


@contextlib.contextmanager
def vocabulary_checks() -> Iterator[None]:
    """The vocabulary's own checks (``activitypub/vocab``, pure, raising ``ValueError("field:
    problem")``) as refusals: code ``invalid``, the field split off its message."""
    try:
        yield
    except ActionError:
        raise
    except ValueError as exc:
        name, sep, problem = str(exc).partition(": ")
        if sep and name.isidentifier():
            raise FieldError(name, problem) from exc
        raise ActionError(str(exc)) from exc


def _plain(value: Any) -> Any:
    """A parameter as JSON can carry it."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)
