"""Peer policy keys (§7): one normalisation of domains, and a policy covers subdomains.

As Mastodon's ``DomainBlock.rule_for``: the policy of the most specific covering domain decides.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityfed.activitypub.actor import authority
from cityfed.models.policy import PolicyView, covering, policy_of


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://Evil.Example/actor", "evil.example"),
        ("https://evil.example./actor", "evil.example"),
        ("https://EVIL.example.:443/actor", "evil.example"),
        ("https://evil.example.:8443/actor", "evil.example:8443"),
        ("https://bücher.example/actor", "xn--bcher-kva.example"),
        ("https://BÜCHER.example./actor", "xn--bcher-kva.example"),
        ("http://127.0.0.1:8081/a", "127.0.0.1:8081"),
        ("https://[::1]:8443/a", "[::1]:8443"),
    ],
)
def test_authority_normalises_case_trailing_dot_idna_and_default_port(url: str, domain: str):
    assert authority(url) == domain


def _view(**policies: str) -> PolicyView:
    return PolicyView(policies={d.replace("_", "."): p for d, p in policies.items()})


@pytest.mark.parametrize(
    "domain",
    ["evil.example", "evil.example.", "EVIL.Example", "sub.evil.example", "a.b.Evil.Example."],
)
def test_a_block_covers_the_domain_and_its_subdomains(domain: str) -> None:
    assert _view(evil_example="blocked").is_blocked(domain)


@pytest.mark.parametrize(
    "domain",
    ["notevil.example", "evil.example.org", "example", "evil.example:8443", "xevil.example"],
)
def test_a_block_covers_nothing_else(domain: str) -> None:
    assert not _view(evil_example="blocked").is_blocked(domain)


def test_ports_are_part_of_the_domain() -> None:
    view = PolicyView(policies={"evil.example:8443": "blocked", "127.0.0.1:8081": "blocked"})
    assert view.is_blocked("sub.evil.example:8443")
    assert not view.is_blocked("evil.example")
    assert not view.is_blocked("127.0.0.1:8082")
    assert view.is_blocked("127.0.0.1:8081")
    assert not view.is_blocked("1.127.0.0.1:8081")  # an IP address has no parents


def test_the_most_specific_policy_decides() -> None:
    view = _view(evil_example="blocked", good_evil_example="trusted")
    assert view.is_trusted("good.evil.example") and view.is_trusted("x.good.evil.example")
    assert view.is_blocked("bad.evil.example")


def test_idna_domains_match_either_form() -> None:
    view = PolicyView(policies={"xn--bcher-kva.example": "blocked"})
    assert view.is_blocked("bücher.example") and view.is_blocked("sub.BÜCHER.example.")


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
tlds = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(
    parent=st.tuples(st.lists(labels, max_size=2), tlds).map(lambda p: [*p[0], p[1]]),
    sub=st.lists(labels, max_size=3),
    port=st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
    upper=st.booleans(),
    dot=st.booleans(),
)
def test_covering_property(parent, sub, port, upper, dot) -> None:
    suffix = f":{port}" if port else ""
    blocked = ".".join(parent) + suffix
    written = ".".join(sub + parent)
    written = (written.upper() if upper else written) + ("." if dot else "") + suffix
    assert policy_of({blocked: "blocked"}, written) == "blocked"
    assert covering(written)[0] == ".".join(sub + parent) + suffix
    # A sibling that merely ends with the same characters is not covered.
    assert policy_of({blocked: "blocked"}, "x" + ".".join(parent) + suffix) is None
