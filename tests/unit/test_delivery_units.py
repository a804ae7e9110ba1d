"""Pure parts of the delivery worker: the per-activity signing shortcut and circuit reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from cityfed.activitypub import cavage
from cityfed.activitypub.digest import digest_header
from cityfed.activitypub.headers import format_http_date
from cityfed.federation.circuit import HostWindow
from cityfed.federation.delivery_lease import Payload
from cityfed.federation.delivery_send import sign_headers
from cityfed.keys.generate import load_private_pem
from cityfed.keys.store import SigningKey
from tests import rig

KEY_ID = "https://berlin.example/actors/city#main-key"


def test_sign_headers_are_what_sign_request_makes() -> None:
    """The Digest computed once per activity changes nothing on the wire."""
    private = load_private_pem(rig.test_keys()[0].private_pem)
    key = SigningKey(KEY_ID, "rsa", private)
    body = b'{"id": "https://berlin.example/activities/1", "type": "Create"}'
    payload = Payload("https://berlin.example/activities/1", body, digest_header(body))
    when = datetime(2026, 1, 5, 21, 31, 40, tzinfo=UTC)
    for inbox in (
        "https://social.example/users/anna/inbox",
        "http://127.0.0.1:8080/inbox?x=1",
        "https://Social.Example:443/inbox",
    ):
        expected = cavage.sign_request(
            "POST",
            inbox,
            private,  # type: ignore[arg-type]
            KEY_ID,
            body=body,
            headers={"Content-Type": "application/activity+json"},
            now=when,
        )
        assert sign_headers(inbox, key, payload, format_http_date(when)) == expected


async def test_a_host_report_covers_each_answer_once() -> None:
    host = HostWindow(asyncio.Semaphore(1), failures=3)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert host.take_report() is None  # nothing seen yet
    host.observe("down", at)
    host.observe("down", at)
    first = host.take_report()
    assert first is not None and (first.saw_up, first.downs) == (False, 2)
    # Written with the first report: a second one starts from nothing...
    assert host.take_report() is None
    # ...while the sending side still knows the host is failing.
    assert (host.failures, host.downs_since_up, host.tripped) == (5, 2, True)
    host.observe("up", at)
    host.observe("down", at)
    second = host.take_report()
    assert second is not None and (second.saw_up, second.downs) == (True, 1)
    assert second.last_success_at == at and second.last_failure_at == at
    assert (host.failures, host.downs_since_up) == (1, 1)
