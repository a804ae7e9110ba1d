"""OAuth scopes as Mastodon reads them, cut by a staff member's role, and the PKCE check
(actions/oauth.py): pure functions, no node needed."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cityfed.actions import oauth


def test_parent_scopes_cover_their_sub_scopes_and_follow_covers_follows() -> None:
    assert oauth.covers(("read",), "read:statuses")
    assert not oauth.covers(("read:accounts",), "read:statuses")
    assert oauth.covers(("write",), "write:favourites")
    assert not oauth.covers(("read",), "write:statuses")
    assert oauth.covers(("follow",), "write:follows") and oauth.covers(("follow",), "read:follows")
    assert not oauth.covers(("follow",), "write:statuses")
    assert oauth.covers(("read:accounts",), "profile") and oauth.covers(("read",), "profile")
    assert oauth.covers(("admin:read",), "admin:read:reports")
    assert not oauth.covers(("read",), "admin:read:reports")


def test_scopes_are_parsed_known_only_with_a_default() -> None:
    assert oauth.parse_scopes(None) == ("read",)
    assert oauth.parse_scopes("read+write  read") == ("read", "write")
    assert oauth.parse_scopes("", default="read write") == ("read", "write")
    for bad in ("everything", "read:", "admin", "read:Statuses", "write:a:b"):
        with pytest.raises(oauth.OAuthError) as refused:
            oauth.parse_scopes(bad)
        assert refused.value.error == "invalid_scope"


def test_an_editor_never_holds_admin_scopes() -> None:
    asked = ("read", "write", "admin:read", "admin:write:reports")
    assert oauth.for_role("editor", asked) == ("read", "write")
    assert oauth.for_role("admin", asked) == asked


def test_pkce_s256_matches_the_rfc_7636_example() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert oauth._pkce_matches(challenge, verifier)
    assert not oauth._pkce_matches(challenge, verifier[:-1] + "l")
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
