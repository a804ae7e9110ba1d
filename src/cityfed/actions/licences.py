"""The licence field: an SPDX licence identifier or expression, checked against the SPDX licence
list that the ``license-expression`` package ships (no network; the list is read once, when the
first licence is checked)."""

from __future__ import annotations

import functools

from license_expression import ExpressionError, Licensing, get_spdx_licensing

from cityfed.actions.errors import TOO_LONG, ActionError, Problem

MAX_LENGTH = 100
NOT_SPDX = Problem("licence_syntax", "not an SPDX licence expression ({reason})")
NO_LICENCE = Problem("licence_missing", "expected an SPDX identifier such as EUPL-1.2")
UNKNOWN = Problem(
    "licence_unknown", "{names} is not on the SPDX licence list (such as EUPL-1.2 or MIT)"
)


@functools.cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def spdx_expression(text: str) -> str:
    """``text`` as a known SPDX identifier or expression (``mit`` → ``MIT``,
    ``Apache-2.0 OR MIT``); an ActionError (a ValueError) says what is wrong."""
    if len(text) > MAX_LENGTH:
        raise ActionError(TOO_LONG, limit=MAX_LENGTH)
    licensing = _licensing()
    try:
        parsed = licensing.parse(text, strict=True)
    except ExpressionError as exc:
        raise ActionError(NOT_SPDX, reason=str(exc)) from None
    if parsed is None:
        raise ActionError(NO_LICENCE)
    unknown = licensing.unknown_license_keys(parsed)
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ActionError(UNKNOWN, names=names)
    return str(licensing.parse(text, validate=True, strict=True).render())
