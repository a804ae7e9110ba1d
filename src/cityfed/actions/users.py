"""Staff accounts: create them, sign in and out, change passwords, manage API tokens.

The staff pages (web/staff/) and ``cityfed users`` both call these. Passwords are hashed with
argon2id (argon2-cffi's RFC 9106 defaults) in a worker thread, so a sign-in never stalls the event
loop that serves federation traffic. A browser session is a random token in a cookie; only its
SHA-256 hash is stored, like the API's bearer tokens. Every change to accounts and tokens is
written to the audit log (who, what, when).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cityfed.actions.errors import NOT_FOUND, ONE_OF, TOO_LONG, TOO_SHORT, FieldError, Problem
from cityfed.actions.password_hashing import HashingGate
from cityfed.models import tokens as token_queries
from cityfed.models import users as user_queries
from cityfed.models.tables import ApiToken, AuditEntry, StaffSession, StaffUser
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.users")

ROLES = user_queries.ROLES
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 copes with more, but a megabyte "password" is an attack, not a secret
SESSION_LIFETIME = timedelta(hours=12)  # a working day; then sign in again
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
NOT_AN_EMAIL = Problem("not_an_email", "expected an e-mail address such as name@city.example")
EMAIL_TAKEN = Problem("email_taken", "an account for {email} exists already")
NO_ACCOUNT = Problem("no_account", "no account for {email}")
WRONG_PASSWORD = Problem("wrong_password", "this is not your current password")
SAME_PASSWORD = Problem("same_password", "choose a password different from the current one")
LAST_ADMIN = Problem("last_admin", "the last admin account cannot be deleted")
TOKEN_NAME = Problem("token_name", "give the token a name (what it is for), at most 255 characters")


class UserError(FieldError):
    """An account change is refused; ``str()`` starts with the field name, like FieldError."""


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong
    # password and the timing does not tell which addresses have accounts.
    return _hasher().hash(secrets.token_urlsafe(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not _EMAIL.match(email):
        raise UserError("email", NOT_AN_EMAIL)
    return email


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError("role", ONE_OF, choices=", ".join(ROLES))
    return role


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UserError("password", TOO_SHORT, limit=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise UserError("password", TOO_LONG, limit=MAX_PASSWORD)
    return password


def generate_password() -> str:
    """A one-time password: 16 URL-safe characters (96 random bits)."""
    return secrets.token_urlsafe(12)


async def _hash(password: str, gate: HashingGate | None = None) -> str:
    hasher = _hasher()
    if gate is None:
        return await asyncio.to_thread(hasher.hash, password)
    return await gate.run(lambda: hasher.hash(password))


async def _verify(stored: str, password: str, gate: HashingGate | None = None) -> bool:
    """``gate`` bounds how many run at once (the staff pages pass theirs; the CLI, none)."""
    hasher = _hasher()

    def check() -> bool:
        try:
            return hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    return await (asyncio.to_thread(check) if gate is None else gate.run(check))


# --- accounts -----------------------------------------------------------------------------------


async def create_user(
    node: Node, email: str, role: str, *, who: str, password: str | None = None
) -> tuple[StaffUser, str | None]:
    """A new account; without ``password`` a one-time password is generated and returned (the
    person must choose their own at first sign-in)."""
    email, role = normalize_email(email), _check_role(role)
    one_time = password is None
    secret = generate_password() if password is None else check_password(password)
    hashed = await _hash(secret)
    async with node.db.transaction() as session:
        if await user_queries.by_email(session, email) is not None:
            raise UserError("email", EMAIL_TAKEN, email=email)
        user = StaffUser(
            email=email, role=role, password_hash=hashed, must_change_password=one_time
        )
        session.add(user)
        session.add(AuditEntry(who=who, action="staff.create", target=email, detail={"role": role}))
        await session.flush()
    log.info("%s created staff account %s (%s)", who, email, role)
    return user, secret if one_time else None


async def reset_password(
    node: Node, email: str, *, who: str, password: str | None = None
) -> str | None:
    """Set a new password (a generated one-time one when ``password`` is None, returned) and sign
    the account out everywhere."""
    email = normalize_email(email)
    one_time = password is None
    secret = generate_password() if password is None else check_password(password)
    hashed = await _hash(secret)
    async with node.db.transaction() as session:
        user = await user_queries.by_email(session, email)
        if user is None:
            raise UserError("email", NO_ACCOUNT, email=email)
        user.password_hash, user.must_change_password = hashed, one_time
        await user_queries.end_sessions_of(session, user.id)
        session.add(AuditEntry(who=who, action="staff.password_reset", target=email, detail={}))
    return secret if one_time else None


async def change_password(
    node: Node,
    user_id: int,
    current: str,
    new: str,
    *,
    keep_session: int | None = None,
    gate: HashingGate | None = None,
) -> None:
    """The signed-in person replaces their own password (after proving they know it), which
    ends their other sessions: whoever else knew the old one is signed out. ``keep_session``
    is the one they are changing it in."""
    check_password(new)
    async with node.db.session() as session:
        user = await session.get(StaffUser, user_id)
    if user is None or not await _verify(user.password_hash, current or "", gate):
        raise UserError("current_password", WRONG_PASSWORD)
    if new == current:
        raise UserError("password", SAME_PASSWORD)
    hashed = await _hash(new, gate)
    async with node.db.transaction() as session:
        row = await session.get(StaffUser, user_id)
        assert row is not None
        row.password_hash, row.must_change_password = hashed, False
        ended = await user_queries.end_sessions_of(session, user_id, keep=keep_session)
        session.add(
            AuditEntry(
                who=f"staff:{row.email}",
                action="staff.password",
                target=row.email,
                detail={"other_sessions_ended": ended},
            )
        )
    log.info("staff:%s changed their password; %d other sessions ended", row.email, ended)


async def delete_user(node: Node, email: str, *, who: str) -> None:
    email = normalize_email(email)
    async with node.db.transaction() as session:
        user = await user_queries.by_email(session, email)
        if user is None:
            raise UserError("email", NO_ACCOUNT, email=email)
        if user.role == "admin" and await user_queries.count_admins(session) <= 1:
            raise UserError("email", LAST_ADMIN)
        await user_queries.end_sessions_of(session, user.id)
        await session.delete(user)
        session.add(AuditEntry(who=who, action="staff.delete", target=email, detail={}))
    log.info("%s deleted staff account %s", who, email)


async def list_users(node: Node) -> list[StaffUser]:
    async with node.db.session() as session:
        return await user_queries.all_users(session)


# --- signing in and out -------------------------------------------------------------------------


async def authenticate(
    node: Node, email: str, password: str, *, gate: HashingGate | None = None
) -> StaffUser | None:
    """The account when ``password`` is right, else None (same cost whether or not it exists).

    Raises HashingBusy when ``gate`` has no room for another hash."""
    try:
        email = normalize_email(email)
    except UserError:
        email = ""
    async with node.db.session() as session:
        user = await user_queries.by_email(session, email) if email else None
    stored = user.password_hash if user is not None else _dummy_hash()
    if not await _verify(stored, password or "", gate) or user is None:
        return None
    rehash = _hasher().check_needs_rehash(stored)
    new_hash = await _hash(password, gate) if rehash else None
    async with node.db.transaction() as session:
        row = await session.get(StaffUser, user.id)
        if row is None:
            return None
        row.last_login_at = utcnow()
        if new_hash:  # parameters were raised since this hash was made
            row.password_hash = new_hash
    return row


async def sign_in(node: Node, user: StaffUser) -> tuple[str, StaffSession]:
    """A new session for ``user``; returns the cookie token (shown to nobody else) and the row."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with node.db.transaction() as session:
        await user_queries.purge_expired_sessions(session, now)
        row = StaffSession(
            user_id=user.id,
            token_hash=_digest(token),
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
        session.add(row)
        await session.flush()
    return token, row


async def session_for(node: Node, token: str) -> tuple[StaffSession, StaffUser] | None:
    if not token:
        return None
    async with node.db.session() as session:
        return await user_queries.live_session(session, _digest(token), utcnow())


async def sign_out(node: Node, token: str) -> None:
    async with node.db.transaction() as session:
        found = await user_queries.live_session(session, _digest(token), utcnow())
        if found is not None:
            await session.delete(found[0])


# --- API tokens ---------------------------------------------------------------------------------


async def create_api_token(node: Node, name: str, scope: str, *, who: str) -> str:
    """A new bearer token for the REST API; the secret is returned once and stored hashed."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise UserError("name", TOKEN_NAME)
    if scope not in token_queries.SCOPES:
        raise UserError("scope", ONE_OF, choices=", ".join(token_queries.SCOPES))
    async with node.db.transaction() as session:
        secret = await token_queries.create_token(session, name, scope)
        session.add(
            AuditEntry(who=who, action="token.create", target=name, detail={"scope": scope})
        )
    log.info("%s created API token %r (%s)", who, name, scope)
    return secret


async def revoke_api_token(node: Node, token_id: int, *, who: str) -> ApiToken:
    async with node.db.transaction() as session:
        token = await session.get(ApiToken, token_id)
        if token is None:
            raise UserError("token", NOT_FOUND, what="token")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            session.add(
                AuditEntry(
                    who=who, action="token.revoke", target=token.name, detail={"id": token.id}
                )
            )
    log.info("%s revoked API token %d", who, token_id)
    return token


async def list_api_tokens(node: Node) -> list[ApiToken]:
    async with node.db.session() as session:
        return await user_queries.api_tokens(session)
