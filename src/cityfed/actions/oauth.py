"""OAuth 2 for staff, as Mastodon apps speak it (issue 17.4): apps, codes, tokens, scopes.

- ``register_app``: ``POST /api/v1/apps``; the client secret is shown once and stored hashed.
- ``check_request`` + ``grant_code``: the authorization endpoint; a signed-in staff member
  consents, and the app gets a single-use code valid for ten minutes, bound to the app, the
  redirect URI and, with PKCE (RFC 7636, S256 only, as Mastodon), the code challenge.
- ``exchange_code`` / ``client_credentials``: the token endpoint. ``revoke``: RFC 7009.
- ``authenticate``: a bearer token → who acts, with which scopes. A token's scopes are cut to
  what the member's role allows *now*, so an admin made editor loses ``admin:*`` at once.

Scopes are Mastodon's: ``read``, ``write``, ``follow``, ``push``, ``profile``, ``admin:read``,
``admin:write`` and their sub-scopes (``read:statuses``...). Editors may hold every scope but
``admin:*``; admins all of them.

Hand-written rather than oauthlib: its request validator is synchronous, our storage async,
and the protocol steps needed here (exact redirect URI match, PKCE S256, hashed lookups) are a
few lines each.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cityfed.models import oauth as oauth_queries
from cityfed.models.tables import AuditEntry, Marker, OAuthApp, OAuthCode, OAuthToken, StaffUser
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.oauth")

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
TOP_SCOPES = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
_SCOPE = re.compile(
    r"^(read|write|admin:read|admin:write)(:[a-z_]{1,32})?$|^(follow|push|profile)$"
)
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_REDIRECT_URIS = 10
TIMELINES = ("home", "notifications")


class OAuthError(ValueError):
    """An OAuth request refused: ``error`` is the RFC 6749 code, ``description`` says why."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- scopes -------------------------------------------------------------------------------------


def parse_scopes(raw: str | None, *, default: str = "read") -> tuple[str, ...]:
    """Space-separated scopes (``+`` too, as some apps send them), known ones only, in order."""
    text = (raw or "").replace("+", " ").strip() or default
    scopes = tuple(dict.fromkeys(text.split()))
    unknown = [scope for scope in scopes if not _SCOPE.match(scope)]
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope {unknown[0]!r}")
    return scopes


def covers(granted: tuple[str, ...] | frozenset[str], needed: str) -> bool:
    """Does a grant of ``granted`` allow ``needed``? ``read`` covers ``read:statuses``, and the
    legacy ``follow`` covers ``read:follows``/``write:follows`` (and blocks, mutes) as in
    Mastodon; ``read:accounts`` covers ``profile``."""
    if needed in granted:
        return True
    parts = needed.split(":")
    if len(parts) > 1 and ":".join(parts[:-1]) in granted:
        return True
    if needed in ("read:follows", "write:follows", "read:blocks", "write:blocks") and (
        "follow" in granted
    ):
        return True
    return needed == "profile" and covers(granted, "read:accounts")


def role_allows(role: str, scope: str) -> bool:
    return role == "admin" or not scope.startswith("admin:")


def for_role(role: str, scopes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(scope for scope in scopes if role_allows(role, scope))


def _joined(scopes: tuple[str, ...]) -> str:
    return " ".join(scopes)


def _split(stored: str) -> tuple[str, ...]:
    return tuple(stored.split())


# --- apps ---------------------------------------------------------------------------------------


def _check_redirect_uris(raw: str | list[str] | None) -> list[str]:
    if isinstance(raw, list):
        uris = [uri.strip() for uri in raw if isinstance(uri, str)]
    else:
        uris = [uri.strip() for uri in (raw or "").splitlines()]
    uris = [uri for uri in dict.fromkeys(uris) if uri]
    if not uris:
        raise OAuthError("invalid_request", "redirect_uris: at least one is required", 422)
    if len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError("invalid_request", f"redirect_uris: at most {MAX_REDIRECT_URIS}", 422)
    for uri in uris:
        if uri == OOB:
            continue
        parts = urlsplit(uri)
        # Native apps register schemes of their own (Tusky: oauth2redirect://...): any absolute
        # URI without a fragment (RFC 6749 §3.1.2), like Mastodon.
        if not parts.scheme or (not parts.netloc and not parts.path) or parts.fragment:
            raise OAuthError(
                "invalid_request", f"redirect_uris: {uri!r} is not an absolute URI", 422
            )
        if len(uri) > 2000:
            raise OAuthError("invalid_request", "redirect_uris: too long", 422)
    return uris


async def register_app(
    node: Node,
    name: str,
    redirect_uris: str | list[str] | None,
    scopes: str | None,
    website: str | None = None,
) -> tuple[OAuthApp, str]:
    """A new client app and its secret (shown this once, kept as a hash)."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise OAuthError("invalid_request", "client_name: 1-255 characters are required", 422)
    uris = _check_redirect_uris(redirect_uris)
    granted = parse_scopes(scopes)
    website = (website or "").strip() or None
    if website is not None and (not website.startswith(("https://", "http://"))):
        raise OAuthError("invalid_request", "website: expected an http(s) URL", 422)
    secret = secrets.token_urlsafe(32)
    app = OAuthApp(
        name=name,
        website=website,
        redirect_uris="\n".join(uris),
        scopes=_joined(granted),
        client_id=secrets.token_urlsafe(32),
        secret_hash=_digest(secret),
    )
    async with node.db.transaction() as session:
        session.add(app)
        await session.flush()
    log.info("OAuth app %r registered (client %s…)", name, app.client_id[:6])
    return app, secret


async def _client(
    node: Node, client_id: str | None, client_secret: str | None, *, secret_required: bool = True
) -> OAuthApp:
    async with node.db.session() as session:
        app = await oauth_queries.app_by_client_id(session, client_id or "")
    if app is None:
        # Compare anyway, so the time taken does not tell whether the client id exists.
        hmac.compare_digest(_digest(client_secret or ""), "0" * 64)
        raise OAuthError("invalid_client", "unknown client", 401)
    if client_secret is None and not secret_required:
        return app
    if not hmac.compare_digest(_digest(client_secret or ""), app.secret_hash):
        raise OAuthError("invalid_client", "client authentication failed", 401)
    return app


async def verify_app(node: Node, client_id: str, client_secret: str) -> OAuthApp:
    return await _client(node, client_id, client_secret)


# --- authorization ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked request to the authorization endpoint, ready for the consent page."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None


async def check_request(
    node: Node,
    *,
    client_id: str | None,
    redirect_uri: str | None,
    response_type: str | None,
    scope: str | None,
    state: str | None = None,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> AuthorizationRequest:
    """Check what an app asks for. Errors here are shown to the person, never redirected: the
    redirect URI is not trusted until it matched the app's."""
    async with node.db.session() as session:
        app = await oauth_queries.app_by_client_id(session, client_id or "")
    if app is None:
        raise OAuthError("invalid_client", "this app is not registered here", 400)
    registered = app.redirect_uris.splitlines()
    uri = redirect_uri or (registered[0] if len(registered) == 1 else "")
    if uri not in registered:
        raise OAuthError("invalid_request", "redirect_uri does not match the app's", 400)
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    scopes = parse_scopes(scope, default=app.scopes)
    app_scopes = _split(app.scopes)
    beyond = [wanted for wanted in scopes if not covers(app_scopes, wanted)]
    if beyond:
        raise OAuthError("invalid_scope", f"the app was not registered for {beyond[0]!r}")
    if code_challenge is not None or code_challenge_method is not None:
        if (code_challenge_method or "plain") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method: only S256 is supported")
        if not _CHALLENGE.match(code_challenge or ""):
            raise OAuthError("invalid_request", "code_challenge: expected 43 base64url characters")
    return AuthorizationRequest(app, uri, scopes, state, code_challenge)


async def grant_code(node: Node, user: StaffUser, request: AuthorizationRequest) -> str:
    """The staff member said yes: a code for the scopes their role allows."""
    code = secrets.token_urlsafe(32)
    now = utcnow()
    async with node.db.transaction() as session:
        # Codes live ten minutes; a day later nobody can use or replay them: the table stays
        # small without a housekeeping job of its own.
        await oauth_queries.purge_codes(session, now - timedelta(days=1))
        session.add(
            OAuthCode(
                app_id=request.app.id,
                user_id=user.id,
                code_hash=_digest(code),
                redirect_uri=request.redirect_uri,
                scopes=_joined(for_role(user.role, request.scopes)),
                code_challenge=request.code_challenge,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
    log.info("%s authorised app %r (%s)", user.email, request.app.name, _joined(request.scopes))
    return code


# --- tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedToken:
    secret: str
    scopes: tuple[str, ...]
    created_at: datetime


def _pkce_matches(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


def _code_problem(
    row: OAuthCode,
    now: datetime,
    redirect_uri: str | None,
    client_secret: str | None,
    code_verifier: str | None,
) -> OAuthError | None:
    """Why this code cannot be exchanged, or None."""
    if row.used_at is not None:
        return OAuthError("invalid_grant", "the authorization code was used already")
    if row.expires_at <= now:
        return OAuthError("invalid_grant", "the authorization code has expired")
    if (redirect_uri or row.redirect_uri) != row.redirect_uri:
        return OAuthError("invalid_grant", "redirect_uri differs from the authorization's")
    if row.code_challenge is not None:
        if not _VERIFIER.match(code_verifier or ""):
            return OAuthError("invalid_grant", "code_verifier is missing or malformed")
        if not _pkce_matches(row.code_challenge, code_verifier or ""):
            return OAuthError("invalid_grant", "code_verifier does not match the challenge")
    elif code_verifier is not None or client_secret is None:
        return OAuthError("invalid_grant", "this code was issued without a code challenge")
    return None


async def exchange_code(
    node: Node,
    *,
    client_id: str | None,
    client_secret: str | None,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None = None,
) -> IssuedToken:
    """``grant_type=authorization_code``. A public client (no secret) must prove PKCE."""
    app = await _client(node, client_id, client_secret, secret_required=code_verifier is None)
    secret = "cfo_" + secrets.token_urlsafe(32)
    now = utcnow()
    # A refusal is raised after the commit: the code's use (and, for a replay, the revocation
    # of what it gave) must be stored even though the request fails.
    async with node.db.transaction() as session:
        row = await oauth_queries.code_by_hash(session, _digest(code or ""))
        if row is None or row.app_id != app.id:
            raise OAuthError("invalid_grant", "unknown authorization code")
        problem = _code_problem(row, now, redirect_uri, client_secret, code_verifier)
        if row.used_at is not None:
            revoked = await oauth_queries.revoke_tokens_of_code(session, row.id)
            log.warning("authorization code of app %r used twice: %d revoked", app.name, revoked)
        row.used_at = row.used_at or now  # good for one attempt only
        user = await session.get(StaffUser, row.user_id)
        if problem is None and user is not None:
            scopes = for_role(user.role, _split(row.scopes))
            session.add(
                OAuthToken(
                    app_id=app.id,
                    user_id=user.id,
                    code_id=row.id,
                    token_hash=_digest(secret),
                    scopes=_joined(scopes),
                    created_at=now,
                )
            )
    if problem is not None:
        raise problem
    if user is None:
        raise OAuthError("invalid_grant", "the staff account is gone")
    log.info("token issued to app %r for %s (%s)", app.name, user.email, _joined(scopes))
    return IssuedToken(secret, scopes, now)


async def client_credentials(
    node: Node, *, client_id: str | None, client_secret: str | None, scope: str | None
) -> IssuedToken:
    """``grant_type=client_credentials``: a token for the app itself, acting for nobody. It can
    read what anyone may read and verify the app; it cannot write or act as a city."""
    app = await _client(node, client_id, client_secret)
    app_scopes = _split(app.scopes)
    scopes = parse_scopes(scope, default=app.scopes)
    beyond = [wanted for wanted in scopes if not covers(app_scopes, wanted)]
    if beyond:
        raise OAuthError("invalid_scope", f"the app was not registered for {beyond[0]!r}")
    secret = "cfo_" + secrets.token_urlsafe(32)
    now = utcnow()
    async with node.db.transaction() as session:
        session.add(
            OAuthToken(
                app_id=app.id, token_hash=_digest(secret), scopes=_joined(scopes), created_at=now
            )
        )
    return IssuedToken(secret, scopes, now)


async def revoke(
    node: Node, *, client_id: str | None, client_secret: str | None, token: str | None
) -> None:
    """RFC 7009: the app revokes one of its own tokens; an unknown token is no error."""
    app = await _client(node, client_id, client_secret)
    async with node.db.transaction() as session:
        grant = await oauth_queries.grant_by_hash(session, _digest(token or ""))
        if grant is None or grant.app.id != app.id:
            return
        if grant.token.revoked_at is None:
            grant.token.revoked_at = utcnow()
            log.info("app %r revoked token %d", app.name, grant.token.id)


@dataclass(frozen=True, slots=True)
class Bearer:
    """Who a request with an OAuth token acts for."""

    token_id: int
    app: OAuthApp
    user: StaffUser | None
    scopes: frozenset[str]

    def allows(self, needed: str) -> bool:
        return covers(self.scopes, needed)


async def authenticate(node: Node, secret: str) -> Bearer | None:
    """The live grant for a bearer secret, or None. Its scopes are cut to the member's role."""
    digest = _digest(secret)
    async with node.db.session() as session:
        grant = await oauth_queries.grant_by_hash(session, digest)
    if grant is None or grant.token.revoked_at is not None:
        return None
    if not hmac.compare_digest(grant.token.token_hash, digest):
        return None
    now = utcnow()
    # Written at most once a minute: a busy app must not turn every read into a write.
    last = grant.token.last_used_at
    if last is None or now - last > timedelta(minutes=1):
        async with node.db.transaction() as session:
            await oauth_queries.touch(session, grant.token.id, now)
    scopes = _split(grant.token.scopes)
    if grant.user is not None:
        scopes = for_role(grant.user.role, scopes)
    return Bearer(grant.token.id, grant.app, grant.user, frozenset(scopes))


# --- the staff pages ----------------------------------------------------------------------------


async def list_grants(node: Node, *, user_id: int | None = None) -> list[oauth_queries.Grant]:
    async with node.db.session() as session:
        return await oauth_queries.grants(session, user_id=user_id)


async def revoke_grant(node: Node, token_id: int, *, who: str, user_id: int | None = None) -> bool:
    """Revoke an OAuth token from the staff pages: any (admins) or one's own (``user_id``)."""
    async with node.db.transaction() as session:
        token = await oauth_queries.token_by_id(session, token_id)
        if token is None or (user_id is not None and token.user_id != user_id):
            return False
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            session.add(AuditEntry(who=who, action="oauth.revoke", target=str(token_id), detail={}))
    log.info("%s revoked OAuth token %d", who, token_id)
    return True


# --- markers ------------------------------------------------------------------------------------


async def markers(node: Node, user: StaffUser, timelines: list[str]) -> list[Marker]:
    wanted = [name for name in timelines if name in TIMELINES]
    async with node.db.session() as session:
        return await oauth_queries.markers(session, user.id, wanted or list(TIMELINES))


async def save_markers(node: Node, user: StaffUser, positions: dict[str, str]) -> list[Marker]:
    """Set read positions; each change bumps the marker's version, as Mastodon's does."""
    for timeline, last_read_id in positions.items():
        if timeline not in TIMELINES:
            raise OAuthError("invalid_request", f"{timeline}: home or notifications", 422)
        if not last_read_id or len(last_read_id) > 64:
            raise OAuthError("invalid_request", f"{timeline}[last_read_id]: required", 422)
    saved: list[Marker] = []
    async with node.db.transaction() as session:
        for timeline, last_read_id in positions.items():
            row = await oauth_queries.marker(session, user.id, timeline)
            if row is None:
                row = Marker(user_id=user.id, timeline=timeline, last_read_id=last_read_id)
                session.add(row)
            elif row.last_read_id != last_read_id:
                row.last_read_id = last_read_id
                row.version += 1
            row.updated_at = utcnow()
            saved.append(row)
        await session.flush()
    return saved
