"""OAuth 2 for staff on a real node (issue 17.4): an app registers, a staff member signs in and
consents on the staff pages, the app exchanges the code (with PKCE, or as a confidential client),
uses, lists and loses its token; scopes follow the staff member's role."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select

from cityfed.mastodon.oauth import REGISTRATIONS
from cityfed.models.tables import OAuthApp, OAuthCode, OAuthToken
from tests.integration import test_staff_auth as shared
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.rig import TestNode, settle

fast_hashing, staff = shared.fast_hashing, shared.staff

REDIRECT = "https://app.example/callback"


async def register(node: TestNode, scopes: str = "read write follow", **extra: str) -> Any:
    form = {"client_name": "Test app", "redirect_uris": REDIRECT, "scopes": scopes, **extra}
    async with node.post("/api/v1/apps", data=form) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def consent(client: Any, query: dict[str, str], decision: str = "allow") -> dict[str, Any]:
    """Drive /oauth/authorize → the consent page → the redirect; the redirect's parameters."""
    async with client.http.get(
        client.node.url("/oauth/authorize?" + urlencode(query)), allow_redirects=False
    ) as resp:
        assert resp.status == 303
        location = resp.headers["Location"]
    assert location.startswith("/staff/oauth/authorize?")
    page = await client.get(location)
    assert page.status == 200, page.text
    assert "Test app" in page.text
    # The form may lead to the app's redirect URI (browsers check the redirect after a POST).
    policy = page.headers["Content-Security-Policy"]
    assert "form-action 'self' https://app.example;" in policy + ";"
    fields = {k: v for k, v in query.items()}
    fields["decision"] = decision
    answer = await client.post("/staff/oauth/authorize", fields)
    assert answer.status == 303, answer.text
    assert answer.location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.location).query).items()}


async def token_request(node: TestNode, form: dict[str, str]) -> tuple[int, Any]:
    async with node.post("/oauth/token", data=form) as resp:
        return resp.status, await resp.json()


async def test_authorization_code_with_pkce_and_revocation(nodes, staff) -> None:
    node = await nodes("berlin")
    app = await register(node)
    assert app["client_id"] and app["client_secret"] and app["redirect_uris"] == [REDIRECT]
    editor = await staff(node, "editor")
    verifier, challenge = pkce()
    query = {
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "read write",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = await consent(editor, query)
    assert answer["state"] == "xyz"
    code = answer["code"]
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    # A public client: no secret, but the verifier. A wrong verifier spends the code.
    status, body = await token_request(
        node, {**base, "client_id": app["client_id"], "code_verifier": pkce()[0]}
    )
    assert status == 400 and body["error"] == "invalid_grant"
    status, body = await token_request(
        node, {**base, "client_id": app["client_id"], "code_verifier": verifier}
    )
    assert status == 400 and "used already" in body["error_description"]

    answer = await consent(editor, query)
    status, body = await token_request(
        node,
        {**base, "code": answer["code"], "client_id": app["client_id"], "code_verifier": verifier},
    )
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["scope"] == "read write"
    token = body["access_token"]
    async with node.get("/api/v1/apps/verify_credentials", token=token) as resp:
        assert resp.status == 200 and (await resp.json())["name"] == "Test app"
    async with node.get("/api/v1/accounts/verify_credentials", token=token) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["username"] == node.handle
    async with node.node.db.session() as session:
        stored = list(await session.scalars(select(OAuthToken.token_hash)))
        codes = list(await session.scalars(select(OAuthCode.code_hash)))
        secrets_stored = list(await session.scalars(select(OAuthApp.secret_hash)))
    assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored
    assert code not in codes and app["client_secret"] not in secrets_stored

    # The staff member sees the app on their account page, and an admin on the tokens page.
    page = await editor.get("/staff/account")
    assert "Test app" in page.text
    admin = await staff(node, "admin")
    page = await admin.get("/staff/admin/tokens")
    assert "Test app" in page.text and editor.email in page.text
    async with node.post(
        "/oauth/revoke",
        data={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token},
    ) as resp:
        assert resp.status == 200
    async with node.get("/api/v1/accounts/verify_credentials", token=token) as resp:
        assert resp.status == 401

    # Revoked from the staff pages: one's own from the account page (not others'), any by admins.
    answer = await consent(editor, query)
    status, body = await token_request(
        node,
        {**base, "code": answer["code"], "client_id": app["client_id"], "code_verifier": verifier},
    )
    second = body["access_token"]
    async with node.node.db.session() as session:
        token_id = await session.scalar(
            select(OAuthToken.id).where(
                OAuthToken.token_hash == hashlib.sha256(second.encode()).hexdigest()
            )
        )
    other = await staff(node, "editor")
    await other.get("/staff/account")
    await other.post("/staff/oauth/revoke", {"id": str(token_id)})
    async with node.get("/api/v1/markers", token=second) as resp:
        assert resp.status == 200
    await admin.get("/staff/admin/tokens")
    page = await admin.post("/staff/admin/tokens/revoke_app", {"id": str(token_id)})
    assert page.status == 303
    async with node.get("/api/v1/markers", token=second) as resp:
        assert resp.status == 401


async def test_refusals_and_scopes_by_role(nodes, staff) -> None:
    node = await nodes("berlin")
    app = await register(node, scopes="read write admin:read")
    editor = await staff(node, "editor")
    admin = await staff(node, "admin")
    # Errors before consent are shown to the person, never redirected to an unchecked URI.
    bad = await editor.get(
        "/staff/oauth/authorize?"
        + urlencode(
            {
                "client_id": app["client_id"],
                "redirect_uri": "https://evil.example/",
                "response_type": "code",
            }
        )
    )
    assert bad.status == 400 and "evil" not in bad.headers.get("Location", "")
    wider = await editor.get(
        "/staff/oauth/authorize?"
        + urlencode(
            {
                "client_id": app["client_id"],
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "scope": "push",
            }
        )
    )
    assert wider.status == 400
    query = {
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "read admin:read",
    }
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    base = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, **creds}
    # An editor's grant leaves admin:read out; an admin's keeps it.
    status, body = await token_request(
        node, {**base, "code": (await consent(editor, query))["code"]}
    )
    assert status == 200 and body["scope"] == "read"
    status, body = await token_request(
        node, {**base, "code": (await consent(admin, query))["code"]}
    )
    assert status == 200 and body["scope"] == "read admin:read"
    # Denied: the app learns it, and gets nothing.
    assert (await consent(editor, query, "deny"))["error"] == "access_denied"
    # A wrong secret, an unknown grant type.
    status, body = await token_request(node, {**base, "code": "x", "client_secret": "wrong"})
    assert status == 401 and body["error"] == "invalid_client"
    status, body = await token_request(node, {**creds, "grant_type": "password"})
    assert status == 400 and body["error"] == "unsupported_grant_type"
    # Client credentials: the app's own token verifies the app but acts for nobody.
    status, body = await token_request(node, {**creds, "grant_type": "client_credentials"})
    assert status == 200
    async with node.get("/api/v1/apps/verify_credentials", token=body["access_token"]) as resp:
        assert resp.status == 200
    async with node.get("/api/v1/accounts/verify_credentials", token=body["access_token"]) as resp:
        assert resp.status == 422
    # A bad app registration is refused with a reason, and nothing is stored.
    async with node.post(
        "/api/v1/apps", data={"client_name": "x", "redirect_uris": "not a uri"}
    ) as resp:
        assert resp.status == 422
    async with node.post(
        "/api/v1/apps", data={"client_name": "x", "redirect_uris": REDIRECT, "scopes": "everything"}
    ) as resp:
        assert resp.status == 400 or resp.status == 422
    async with node.node.db.session() as session:
        assert len(list(await session.scalars(select(OAuthApp)))) == 1


async def test_signing_in_first_then_back_to_the_consent_page(nodes, staff) -> None:
    node = await nodes("berlin")
    app = await register(node)
    person = await staff(node, "editor", login=False)
    query = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code"}
    consent_path = "/staff/oauth/authorize?" + urlencode(query)
    page = await person.get(consent_path)
    assert page.status == 303 and page.location.startswith("/staff/login?next=")
    await person.get(page.location)
    signed_in = await person.post(
        "/staff/login",
        {"email": person.email, "password": shared.PASSWORD, "next": consent_path},
    )
    assert signed_in.status == 303 and signed_in.location == consent_path
    page = await person.get(consent_path)
    assert page.status == 200 and "Test app" in page.text


async def test_metadata(nodes) -> None:
    node = await nodes("berlin")
    async with node.get("/.well-known/oauth-authorization-server") as resp:
        doc = await resp.json()
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
    async with node.request("OPTIONS", "/oauth/token") as resp:
        assert resp.status == 204 and "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert doc["token_endpoint"] == node.base + "/oauth/token"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in doc["grant_types_supported"]


async def test_offers_and_reports_as_notifications_by_role(nodes, staff) -> None:
    """A solution offer is a mention with its cityfed detail; a received report is an
    admin.report, for a grant with admin:read only (an admin's, never an editor's)."""
    berlin, hamburg = await nodes("berlin"), await nodes("hamburg")
    challenge = await berlin.api("POST", "/challenges", json=CHALLENGE, status=201)
    await hamburg.api("POST", "/follows", json={"account": berlin.account}, status=201)
    await settle(berlin, hamburg)
    ours = await hamburg.api("POST", "/projects", json=HEAT_MAP, status=201)
    await hamburg.api(
        "POST",
        "/offers",
        json={"challenge": challenge["id"], "project": ours["id"], "content": "Sensors!"},
        status=201,
    )
    await hamburg.api(
        "POST", "/reports", json={"actor": berlin.actor_id, "content": "Spam"}, status=201
    )
    await settle(berlin, hamburg)

    app = await register(berlin, scopes="read admin:read")
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    base = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, **creds}
    query = {
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "read admin:read",
    }
    types = {}
    for role in ("editor", "admin"):
        person = await staff(berlin, role)
        _, body = await token_request(
            berlin, {**base, "code": (await consent(person, query))["code"]}
        )
        async with berlin.get("/api/v1/notifications", token=body["access_token"]) as resp:
            assert resp.status == 200
            notes = await resp.json()
        types[role] = sorted(n["type"] for n in notes)
        offer = next(n for n in notes if n.get("cityfed", {}).get("type") == "offer")
        assert offer["type"] == "mention" and offer["cityfed"]["challenge"] == challenge["id"]
        assert "offers a solution" in offer["status"]["content"]
        assert "Sensors!" in offer["status"]["content"]
    assert types["editor"] == ["follow", "mention"]
    assert types["admin"] == ["admin.report", "follow", "mention"]


async def test_app_registrations_are_limited_per_client(nodes) -> None:
    node = await nodes("berlin")
    limiter = node.app[REGISTRATIONS] if node.app is not None else None
    assert limiter is not None and limiter.limit == 30
    for _ in range(limiter.limit):
        await register(node)
    async with node.post(
        "/api/v1/apps", data={"client_name": "one more", "redirect_uris": REDIRECT}
    ) as resp:
        assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    async with node.node.db.session() as session:
        assert len(list(await session.scalars(select(OAuthApp)))) == limiter.limit
