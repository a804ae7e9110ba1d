"""The licence field: an SPDX licence identifier or expression, checked against the SPDX licence
list that the ``license-expression`` package ships (no network; the list is read once, when the
first licence is checked)."""

from __future__ import annotations

import functools

from license_expression import ExpressionError, Licensing, get_spdx_licensing

MAX_LENGTH = 100


@functools.cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def spdx_expression(text: str) -> str:
    """``text`` as a known SPDX identifier or expression (``mit`` → ``MIT``,
    ``Apache-2.0 OR MIT``); ValueError names what is wrong."""
    if len(text) > MAX_LENGTH:
        raise ValueError(f"at most {MAX_LENGTH} characters")
    licensing = _licensing()
    try:
        parsed = licensing.parse(text, strict=True)
    except ExpressionError as exc:
        raise ValueError(f"not an SPDX licence expression ({exc})") from None
    if parsed is None:
        raise ValueError("expected an SPDX identifier such as EUPL-1.2")
    unknown = licensing.unknown_license_keys(parsed)
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ValueError(f"{names} is not on the SPDX licence list (such as EUPL-1.2 or MIT)")
    return str(licensing.parse(text, validate=True, strict=True).render())
