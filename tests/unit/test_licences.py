"""The licence field against the SPDX licence list shipped by license-expression."""

from __future__ import annotations

import pytest

from cityfed.actions.licences import spdx_expression


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("EUPL-1.2", "EUPL-1.2"),
        ("mit", "MIT"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("MIT AND (Apache-2.0 OR BSD-2-Clause)", "MIT AND (Apache-2.0 OR BSD-2-Clause)"),
    ],
)
def test_known_licences_in_their_spdx_spelling(given: str, stored: str) -> None:
    assert spdx_expression(given) == stored


@pytest.mark.parametrize("given", ["WTFPL-9", "foo bar", "MIT OR", "((", "MIT WITH MIT", "x" * 101])
def test_unknown_licences_and_broken_expressions_are_refused(given: str) -> None:
    with pytest.raises(ValueError):
        spdx_expression(given)
