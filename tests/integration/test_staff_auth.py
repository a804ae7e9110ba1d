"""Staff sign-in on real nodes: cookies, CSRF, Origin, rate limiting, roles, one-time passwords,
API tokens from the UI, and the `cityfed users` command.

``StaffClient`` (a browser-like client: a cookie jar, the CSRF field copied from the last page)
and the ``staff`` fixture are shared by the other test_staff* modules.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import func, select, update

from cityfed.actions import users as user_actions
from cityfed.cli import main
from cityfed.models.tables import ApiToken, AuditEntry, StaffSession, StaffUser
from cityfed.models.types import utcnow
from cityfed.web.staff.auth import Cookies
from cityfed.web.staff.ratelimit import HASHING, LIMITER
from tests.rig import TestNode

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')

EDITOR_PAGES = [
    "/staff/",
    "/staff/items",
    "/staff/items/new?kind=project",
    "/staff/items/new?kind=challenge",
    "/staff/report",
    "/staff/account",
    "/staff/notifications",
]
ADMIN_PAGES = [
    "/staff/admin/profile",
    "/staff/follows",
    "/staff/admin/peers",
    "/staff/admin/deliveries",
    "/staff/admin/reports",
    "/staff/admin/audit",
    "/staff/admin/keys",
    "/staff/admin/moderation",
    "/staff/admin/tokens",
    "/staff/admin/users",
]


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with production parameters costs ~0.3 s a hash; tests use small ones (one test
    below checks the production parameters)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(user_actions, "_hasher", lambda: cheap)


@dataclass
class Page:
    status: int
    text: str
    headers: Any

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class StaffClient:
    """A browser for one node: cookies kept, the CSRF value of the last page sent with forms."""

    def __init__(self, node: TestNode, http: aiohttp.ClientSession) -> None:
        self.node, self.http, self.csrf = node, http, ""

    async def _page(self, response: aiohttp.ClientResponse) -> Page:
        text = await response.text()
        found = _CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return Page(response.status, text, response.headers)

    async def get(self, path: str, **kwargs: Any) -> Page:
        kwargs.setdefault("allow_redirects", False)
        async with self.http.get(self.node.url(path), **kwargs) as response:
            return await self._page(response)

    async def post(
        self,
        path: str,
        data: dict[str, Any] | list[tuple[str, str]],
        *,
        csrf: bool = True,
        **kw: Any,
    ) -> Page:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf and not any(name == "csrf" for name, _ in fields):
            fields.append(("csrf", self.csrf))
        kw.setdefault("allow_redirects", False)
        async with self.http.post(self.node.url(path), data=fields, **kw) as response:
            return await self._page(response)

    async def login(self, email: str, password: str = PASSWORD) -> Page:
        await self.get("/staff/login")
        return await self.post(
            "/staff/login", {"email": email, "password": password, "next": "/staff/"}
        )

    def cookie(self, name: str) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None


@pytest.fixture
async def staff() -> AsyncIterator[Callable[..., Any]]:
    """``await staff(node, "admin")``: a new account of that role, signed in (``login=False``:
    only created); returns the client, its e-mail in ``client.email``."""
    async with AsyncExitStack() as stack:

        async def make(node: TestNode, role: str = "admin", *, login: bool = True) -> StaffClient:
            email = f"{role}-{secrets.token_hex(3)}@{node.name}.example"
            await user_actions.create_user(node.node, email, role, who="test", password=PASSWORD)
            jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 (an IP) too
            http = await stack.enter_async_context(aiohttp.ClientSession(cookie_jar=jar))
            client = StaffClient(node, http)
            client.email = email  # type: ignore[attr-defined]
            if login:
                page = await client.login(email)
                assert page.status == 303, (page.status, page.text[:300])
            return client

        yield make


def set_cookie_header(page: Page, name: str) -> str:
    return next(h for h in page.headers.getall("Set-Cookie", []) if h.startswith(name + "="))


# --- sign-in and the session cookie -------------------------------------------------------------


async def test_sign_in_sets_a_safe_cookie_and_stores_only_its_hash(nodes, staff) -> None:
    a = await nodes("berlin")
    client = await staff(a, "editor", login=False)
    page = await client.get("/staff/")
    assert page.status == 303 and page.location.startswith("/staff/login?next=")
    login = await client.get("/staff/login")
    assert login.status == 200 and 'autocomplete="current-password"' in login.text
    page = await client.post(
        "/staff/login",
        {"email": client.email.upper(), "password": PASSWORD, "next": "/staff/items"},
    )
    assert (page.status, page.location) == (303, "/staff/items")
    names = Cookies.of(a.node)
    header = set_cookie_header(page, names.session)
    assert names.session == f"cityfed_staff_{a.port}"
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # http node; see the https test below
    token = client.cookie(names.session)
    assert token
    async with a.node.db.session() as session:
        stored = list(await session.scalars(select(StaffSession)))
    assert len(stored) == 1
    assert stored[0].token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert (await client.get("/staff/items")).status == 200


def test_cookies_are_secure_and_host_prefixed_on_https() -> None:
    @dataclass
    class FakeSettings:
        scheme: str = "https"
        domain: str = "berlin.example"

    @dataclass
    class FakeNode:
        settings: FakeSettings

    names = Cookies.of(FakeNode(FakeSettings()))  # type: ignore[arg-type]
    assert names.session == "__Host-cityfed_staff" and names.secure
    response = aiohttp.web.Response()
    names.set(response, names.session, "x", max_age=60)
    header = response.cookies[names.session].output(header="")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


async def test_wrong_password_and_unknown_email_look_the_same(nodes, staff) -> None:
    a = await nodes("berlin")
    client = await staff(a, "admin", login=False)
    wrong = await client.login(client.email, "not the password at all")
    unknown = await client.login("nobody@berlin.example", PASSWORD)
    for page in (wrong, unknown):
        assert page.status == 401
        assert "The e-mail address or the password is wrong." in page.text
        assert not any(
            h.startswith(Cookies.of(a.node).session) for h in page.headers.getall("Set-Cookie", [])
        )
    assert client.cookie(Cookies.of(a.node).session) is None


async def test_failed_logins_are_rate_limited_per_address(nodes, staff) -> None:
    a = await nodes("berlin")
    client = await staff(a, "editor", login=False)
    now = [1000.0]
    a.app[LIMITER].clock = lambda: now[0]
    for _ in range(5):
        assert (await client.login(client.email, "wrong password!!")).status == 401
    blocked = await client.login(client.email)  # even the right password: wait first
    assert blocked.status == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins" in blocked.text
    other = await staff(a, "editor", login=False)  # another address from the same client
    assert (await other.login(other.email)).status == 303
    now[0] += 15 * 60 + 1
    assert (await client.login(client.email)).status == 303


async def test_concurrent_guesses_are_counted_before_hashing(nodes, staff) -> None:
    """60 guesses at once on one account: 5 are checked, 55 refused unhashed, none slips by."""
    a = await nodes("berlin")
    client = await staff(a, "editor", login=False)
    await client.get("/staff/login")
    guesses = [
        client.post("/staff/login", {"email": client.email, "password": f"guess number {i}"})
        for i in range(60)
    ]
    pages = await asyncio.gather(*guesses)
    statuses = sorted(page.status for page in pages)
    assert statuses == [401] * 5 + [429] * 55
    assert (await client.login(client.email)).status == 429  # even the right password now


async def test_password_hashing_is_bounded_and_a_flood_is_turned_away(
    nodes, staff, monkeypatch
) -> None:
    """Many sign-ins at once (different accounts, so the rate limit is not what stops them):
    at most ``concurrent`` hashes run, a few wait, the rest get 503 with Retry-After."""
    running, most = [0], [0]
    lock = threading.Lock()

    class Slow(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            try:
                time.sleep(0.05)
                return super().verify(hash, password)
            finally:
                with lock:
                    running[0] -= 1

    slow = Slow(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(user_actions, "_hasher", lambda: slow)
    a = await nodes("berlin")
    a.app[LIMITER].per_client = 1000
    gate = a.app[HASHING]
    client = await staff(a, "editor", login=False)
    await client.get("/staff/login")
    attempts = [
        client.post("/staff/login", {"email": f"n{i}@berlin.example", "password": "wrong one!"})
        for i in range(40)
    ]
    pages = await asyncio.gather(*attempts)
    statuses = [page.status for page in pages]
    assert set(statuses) == {401, 503}
    assert statuses.count(401) >= gate.concurrent + gate.queue
    assert all(0 < int(p.headers["Retry-After"]) <= 60 for p in pages if p.status == 503)
    assert most[0] <= gate.concurrent
    assert (await client.login(client.email)).status == 303  # served once the flood is over


async def test_password_hashes_are_argon2id_with_production_parameters(nodes) -> None:
    a = await nodes("berlin")
    user, _ = await user_actions.create_user(
        a.node, "real@berlin.example", "editor", who="test", password=PASSWORD
    )
    assert user.password_hash.startswith("$argon2id$")
    PasswordHasher().verify(user.password_hash, PASSWORD)


# --- CSRF and Origin ----------------------------------------------------------------------------


async def test_posts_without_the_csrf_field_or_from_another_origin_are_refused(
    nodes, staff
) -> None:
    a = await nodes("berlin")
    client = await staff(a, "editor")
    await client.get("/staff/items/new?kind=project")
    form = {"kind": "project", "title": "Forged", "action": "save"}
    missing = await client.post("/staff/items/new", form, csrf=False)
    wrong = await client.post("/staff/items/new", {**form, "csrf": "nope"})
    other_site = await client.post(
        "/staff/items/new", form, headers={"Origin": "https://evil.example"}
    )
    for page in (missing, wrong, other_site):
        assert page.status == 403
        assert "This form has expired or came from another site." in page.text
    assert (await a.api("GET", "/projects"))["total"] == 0
    same_site = await client.post("/staff/items/new", form, headers={"Origin": a.base})
    assert same_site.status == 303
    assert (await a.api("GET", "/projects"))["total"] == 1


async def test_login_form_needs_its_csrf_cookie(nodes, staff) -> None:
    a = await nodes("berlin")
    client = await staff(a, "editor", login=False)
    page = await client.post("/staff/login", {"email": client.email, "password": PASSWORD})
    assert page.status == 403  # no login page seen, so no CSRF cookie to match


# --- signing out, expiry, one-time passwords ----------------------------------------------------


async def test_logout_deletes_the_session(nodes, staff) -> None:
    a = await nodes("berlin")
    client = await staff(a, "editor")
    await client.get("/staff/")
    page = await client.post("/staff/logout", {})
    assert (page.status, page.location) == (303, "/staff/login?done=signed_out")
    async with a.node.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(StaffSession)) == 0
    assert (await client.get("/staff/")).status == 303
    signed_out = await client.get("/staff/login?done=signed_out")
    assert "You are signed out." in signed_out.text


async def test_an_expired_session_signs_out(nodes, staff) -> None:
    a = await nodes("berlin")
    client = await staff(a, "editor")
    async with a.node.db.transaction() as session:
        await session.execute(update(StaffSession).values(expires_at=utcnow()))
    page = await client.get("/staff/items")
    assert page.status == 303 and page.location == "/staff/login?next=%2Fstaff%2Fitems"


async def test_a_one_time_password_must_be_replaced_first(nodes, staff) -> None:
    a = await nodes("berlin")
    _user, one_time = await user_actions.create_user(
        a.node, "new@berlin.example", "editor", who="test"
    )
    assert one_time and len(one_time) >= 16
    client = await staff(a, "editor", login=False)
    page = await client.login("new@berlin.example", one_time)
    assert (page.status, page.location) == (303, "/staff/account")
    assert (await client.get("/staff/items")).location == "/staff/account"
    page = await client.get("/staff/account")
    assert "You signed in with a one-time password" in page.text
    short = await client.post(
        "/staff/account",
        {"current_password": one_time, "password": "short", "password_confirm": "short"},
    )
    assert short.status == 422 and "at least 12 characters" in short.text
    done = await client.post(
        "/staff/account",
        {"current_password": one_time, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert (done.status, done.location) == (303, "/staff/?done=password_changed")
    assert (await client.get("/staff/items")).status == 200


async def test_changing_ones_password_ends_the_other_sessions(nodes, staff) -> None:
    a = await nodes("berlin")
    laptop = await staff(a, "editor")
    phone, stolen = await staff(a, "editor", login=False), await staff(a, "editor", login=False)
    for other in (phone, stolen):
        assert (await other.login(laptop.email)).status == 303
        assert (await other.get("/staff/items")).status == 200
    other_user = await staff(a, "editor")  # someone else's session is not touched
    await laptop.get("/staff/account")
    new = "a much longer new passphrase"
    done = await laptop.post(
        "/staff/account",
        {"current_password": PASSWORD, "password": new, "password_confirm": new},
    )
    assert (done.status, done.location) == (303, "/staff/?done=password_changed")
    assert (await laptop.get("/staff/items")).status == 200  # the session it was changed in
    for other in (phone, stolen):
        page = await other.get("/staff/items")
        assert page.status == 303 and page.location.startswith("/staff/login"), page.status
    assert (await other_user.get("/staff/items")).status == 200
    async with a.node.db.session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "staff.password")
        )
    assert entry is not None and entry.detail == {"other_sessions_ended": 2}


# --- roles --------------------------------------------------------------------------------------


async def test_every_page_for_the_right_role_only(nodes, staff) -> None:
    a = await nodes("berlin")
    admin, editor = await staff(a, "admin"), await staff(a, "editor")
    anonymous = await staff(a, "editor", login=False)
    for path in EDITOR_PAGES + ADMIN_PAGES:
        assert (await admin.get(path)).status == 200, path
        page = await anonymous.get(path)
        assert page.status == 303, path
        assert page.location == "/staff/login?" + urlencode({"next": path})
    for path in EDITOR_PAGES:
        assert (await editor.get(path)).status == 200, path
    for path in ADMIN_PAGES:
        page = await editor.get(path)
        assert page.status == 403, path
        assert "This page is for administrators." in page.text
    await editor.get("/staff/")
    refused = await editor.post("/staff/follows", {"account": "hamburg@example.org"})
    assert refused.status == 403
    assert (await admin.get("/staff/nowhere")).status == 404
    assert (await admin.get("/staff")).location == "/staff/"
    # Admins see the administration links, editors do not.
    assert "/staff/admin/peers" in (await admin.get("/staff/")).text
    assert "/staff/admin/peers" not in (await editor.get("/staff/")).text


async def test_pages_are_never_cached_and_the_next_link_stays_on_site(nodes, staff) -> None:
    a = await nodes("berlin")
    admin = await staff(a, "admin", login=False)
    await admin.get("/staff/login")
    page = await admin.post(
        "/staff/login",
        {"email": admin.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert page.location == "/staff/"
    page = await admin.get("/staff/")
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


# --- API tokens and accounts from the UI --------------------------------------------------------


async def test_api_tokens_are_created_and_revoked_in_the_ui(nodes, staff) -> None:
    a = await nodes("berlin")
    admin = await staff(a, "admin")
    await admin.get("/staff/admin/tokens")
    page = await admin.post("/staff/admin/tokens", {"name": "open data portal", "scope": "editor"})
    assert page.status == 200
    secret = re.search(r'<code class="secret">(cf_[^<]+)</code>', page.text).group(1)
    assert (await a.api("GET", "/projects", token=secret, status=200))["total"] == 0
    async with a.node.db.session() as session:
        token = await session.scalar(select(ApiToken).where(ApiToken.name == "open data portal"))
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert token is not None and token.scope == "editor" and "token.create" in actions
    page = await admin.post("/staff/admin/tokens/revoke", {"id": str(token.id)})
    assert page.location == "/staff/admin/tokens?done=token_revoked"
    await a.api("GET", "/projects", token=secret, status=401)
    assert "Revoked on" in (await admin.get("/staff/admin/tokens")).text
    empty = await admin.post("/staff/admin/tokens", {"name": " ", "scope": "editor"})
    assert empty.status == 422 and 'id="f-name-error"' in empty.text


async def test_admins_create_and_delete_accounts_in_the_ui(nodes, staff) -> None:
    a = await nodes("berlin")
    admin = await staff(a, "admin")
    await admin.get("/staff/admin/users")
    page = await admin.post(
        "/staff/admin/users", {"email": "Press@Berlin.example", "role": "editor"}
    )
    assert page.status == 200 and "press@berlin.example" in page.text
    one_time = re.search(r'<code class="secret">([^<]+)</code>', page.text).group(1)
    newcomer = await staff(a, "editor", login=False)
    assert (await newcomer.login("press@berlin.example", one_time)).location == "/staff/account"
    twice = await admin.post(
        "/staff/admin/users", {"email": "press@berlin.example", "role": "admin"}
    )
    assert twice.status == 422 and "exists already" in twice.text
    gone = await admin.post("/staff/admin/users/delete", {"email": "press@berlin.example"})
    assert gone.location == "/staff/admin/users?done=user_deleted"
    async with a.node.db.session() as session:
        emails = set(await session.scalars(select(StaffUser.email)))
    assert emails == {admin.email, newcomer.email}


# --- the command line ---------------------------------------------------------------------------


def test_cli_users_create_list_reset_delete(tmp_path: Path) -> None:
    runner = CliRunner()
    init = runner.invoke(
        main,
        [
            "init",
            "--data-dir",
            str(tmp_path / "data"),
            "--domain",
            "localhost:8080",
            "--scheme",
            "http",
            "--handle",
            "berlin",
            "--name",
            "City of Berlin",
        ],
    )
    assert init.exit_code == 0, init.output
    config = ["--config", str(tmp_path / "data" / "cityfed.toml")]
    created = runner.invoke(
        main, ["users", "create", *config, "--email", "Chief@Berlin.example", "--role", "admin"]
    )
    assert created.exit_code == 0, created.output
    assert "created admin chief@berlin.example" in created.output
    assert re.search(r"one-time password \(change it at first sign-in\): \S{16}", created.output)
    typed = runner.invoke(
        main,
        ["users", "create", *config, "--email", "ed@berlin.example", "--set-password"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert typed.exit_code == 0 and "one-time" not in typed.output
    duplicate = runner.invoke(main, ["users", "create", *config, "--email", "ed@berlin.example"])
    assert duplicate.exit_code == 1 and "exists already" in duplicate.output
    listed = runner.invoke(main, ["users", "list", *config])
    assert "chief@berlin.example  admin  last sign-in never" in listed.output
    assert "ed@berlin.example  editor" in listed.output
    reset = runner.invoke(
        main, ["users", "reset-password", *config, "--email", "ed@berlin.example"]
    )
    assert reset.exit_code == 0 and "one-time password: " in reset.output
    last_admin = runner.invoke(
        main, ["users", "delete", *config, "--email", "chief@berlin.example"]
    )
    assert last_admin.exit_code == 1 and "last admin" in last_admin.output
    deleted = runner.invoke(main, ["users", "delete", *config, "--email", "ed@berlin.example"])
    assert deleted.exit_code == 0 and "deleted ed@berlin.example" in deleted.output
