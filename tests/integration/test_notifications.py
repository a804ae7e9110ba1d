"""Staff notifications between real nodes (issue 18.5): written with the change that causes them,
shown with an unread count on every staff page, marked read, and mailed to a real SMTP server on
loopback (aiosmtpd) at once or as a daily digest; a mail the server refuses or cannot take is
retried and blocks nothing else."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select

from cityfed.federation.mailer import Mailer, backoff
from cityfed.models import notifications as notification_queries
from cityfed.models.tables import Mail, Notification, StaffUser
from cityfed.models.types import utcnow
from tests.integration import test_staff_auth as shared
from tests.integration.test_offers import offer
from tests.mail_support import smtp_server, smtp_settings
from tests.rig import TestNode, free_port, settle

fast_hashing, staff = shared.fast_hashing, shared.staff

COOLING = {
    "title": "Cooling schools in summer",
    "teaser": "Classrooms reach 35 °C in July.",
    "sdgs": [3, 11],
    "tags": ["heat"],
}
SHELTERS = {"title": "Climate shelters", "teaser": "Cool public rooms in every district."}


async def rows_of(test_node: TestNode, email: str) -> list[Notification]:
    async with test_node.node.db.session() as session:
        user = await session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        found = await session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
        return list(found)


async def mails(test_node: TestNode) -> list[Mail]:
    async with test_node.node.db.session() as session:
        return await notification_queries.mails(session)


async def offered(barcelona: TestNode, berlin: TestNode) -> dict[str, str]:
    """Barcelona and Berlin follow each other; Barcelona offers its shelters for Berlin's
    challenge."""
    await barcelona.api("POST", "/follows", json={"account": berlin.account}, status=201)
    await berlin.api("POST", "/follows", json={"account": barcelona.account}, status=201)
    await settle(barcelona, berlin)
    challenge = await berlin.api("POST", "/challenges", json=COOLING, status=201)
    project = await barcelona.api("POST", "/projects", json=SHELTERS, status=201)
    await settle(barcelona, berlin)
    sent = await offer(barcelona, challenge["id"], project["id"])
    await settle(barcelona, berlin)
    return {"challenge": challenge["id"], "project": project["id"], "offer": sent["id"]}


async def test_an_offer_is_an_unread_notification_and_an_email(nodes, staff) -> None:
    """The issue's done-when: Barcelona offers its shelters for Berlin's challenge; Berlin's staff
    see an unread notification and receive an e-mail on the SMTP server."""
    async with smtp_server() as inbox:
        berlin = await nodes("berlin", **smtp_settings(inbox.port))
        barcelona = await nodes("barcelona")
        editor = await staff(berlin, "editor")
        before = await editor.get("/staff/")
        assert 'id="unread-count"' not in before.text
        ids = await offered(barcelona, berlin)

        # Barcelona's follow, then its offer.
        page = await editor.get("/staff/items")
        assert '<span class="unread-count" id="unread-count">2 unread</span>' in page.text
        listed = await editor.get("/staff/notifications")
        assert listed.status == 200
        assert "City of Barcelona" in listed.text and "Climate shelters" in listed.text
        assert "Cooling schools in summer" in listed.text and 'data-kind="offer"' in listed.text
        follow, note = await rows_of(berlin, editor.email)
        assert follow.kind == "follow" and "now follows your city" in follow.summary
        assert note.kind == "offer" and note.read_at is None and note.link == ids["challenge"]

        # The mails were queued in the follow's and the offer's transactions; the mailer sends.
        assert [m.state for m in await mails(berlin)] == ["pending", "pending"]
        assert await Mailer(berlin.node).run_once() == 2
        _, message = inbox.messages
        assert inbox.recipients == [[editor.email], [editor.email]]
        assert message["From"] == "cityfed@berlin.test" and message["To"] == editor.email
        assert "Climate shelters" in message["Subject"]
        assert "Cooling schools in summer" in message["Subject"]
        body = message.get_content()
        assert "City of Barcelona" in body and ids["challenge"] in body
        assert [m.state for m in await mails(berlin)] == ["sent", "sent"]
        assert await Mailer(berlin.node).run_once() == 0  # sent once only

        # Berlin accepts: Barcelona's staff hear the answer (no mail server there: it waits).
        offerer = await staff(barcelona, "editor")
        await berlin.api("POST", "/offers/accept", json={"offer": ids["offer"]}, status=200)
        await settle(barcelona, berlin)
        (answer,) = await rows_of(barcelona, offerer.email)
        assert answer.kind == "offer_answer" and "accepted your offer" in answer.summary
        assert await Mailer(barcelona.node).run_once() == 0
        assert [m.state for m in await mails(barcelona)] == ["pending"]


async def test_marking_read_one_and_all(nodes, staff) -> None:
    berlin, barcelona = await nodes("berlin"), await nodes("barcelona")
    editor, other = await staff(berlin, "editor"), await staff(berlin, "admin")
    await offered(barcelona, berlin)  # a follow and an offer: two notifications each
    kinds = [n.kind for n in await rows_of(berlin, editor.email)]
    assert kinds == ["follow", "offer"]
    first, _ = await rows_of(berlin, editor.email)

    page = await editor.get("/staff/notifications")  # its forms carry the CSRF value
    assert "2 unread" in page.text and page.text.count("Mark as read") == 2
    done = await editor.post("/staff/notifications/read", {"id": str(first.id)})
    assert done.status == 303 and done.location.endswith("done=notifications_read")
    page = await editor.get("/staff/notifications")
    assert "1 unread" in page.text and "Marked as read." not in page.text
    unread = await editor.get("/staff/notifications?unread=1")
    assert 'data-kind="offer"' in unread.text and 'data-kind="follow"' not in unread.text
    # Someone else's notification is not one's own to mark.
    (theirs, _) = await rows_of(berlin, other.email)
    await editor.post("/staff/notifications/read", {"id": str(theirs.id)})
    assert all(n.read_at is None for n in await rows_of(berlin, other.email))

    await editor.post("/staff/notifications/read", {"all": "1"})
    assert all(n.read_at is not None for n in await rows_of(berlin, editor.email))
    page = await editor.get("/staff/")
    assert 'id="unread-count"' not in page.text
    assert (await editor.post("/staff/notifications/read", {"id": "x"})).status == 400
    # The other member's read state is their own.
    assert "2 unread" in (await other.get("/staff/")).text


async def test_preferences_mute_events_and_choose_a_digest(nodes, staff) -> None:
    async with smtp_server() as inbox:
        berlin = await nodes("berlin", **smtp_settings(inbox.port))
        barcelona = await nodes("barcelona")
        digest, muted = await staff(berlin, "editor"), await staff(berlin, "editor")
        account = await digest.get("/staff/account")
        await muted.get("/staff/account")
        assert 'id="nk-offer" name="kinds" value="offer" checked' in account.text
        assert 'id="ne-immediate" name="email" value="immediate" checked' in account.text
        every = [("kinds", k.value) for k in notification_queries.Kind]
        saved = await digest.post("/staff/account/notifications", [*every, ("email", "digest")])
        assert saved.status == 303 and saved.location.endswith("done=notifications_saved")
        no_offers = [kv for kv in every if kv[1] != "offer"]
        await muted.post("/staff/account/notifications", [*no_offers, ("email", "off")])
        bad = await muted.post("/staff/account/notifications", [("email", "hourly")])
        assert bad.status == 400
        assert (
            'id="nk-offer" name="kinds" value="offer" checked'
            not in (await muted.get("/staff/account")).text
        )

        await offered(barcelona, berlin)
        assert [n.kind for n in await rows_of(berlin, muted.email)] == ["follow"]
        assert [n.kind for n in await rows_of(berlin, digest.email)] == ["follow", "offer"]
        assert await mails(berlin) == []  # neither wants a mail at once

        # A day after the preference was saved, the digest goes out: both events in one mail.
        tomorrow = Mailer(berlin.node, clock=lambda: utcnow() + timedelta(days=1, minutes=1))
        assert await tomorrow.run_once() == 1
        (message,) = inbox.messages
        assert inbox.recipients == [[digest.email]]
        assert message["Subject"] == "2 notification(s) from the last day"
        body = message.get_content()
        assert "now follows your city" in body and "Climate shelters" in body
        assert f"{berlin.base}/staff/notifications" in body
        assert await tomorrow.run_once() == 0  # one digest a day


async def test_an_undeliverable_mail_is_retried_and_blocks_nothing(nodes, staff) -> None:
    async with smtp_server() as inbox:
        down = free_port()  # nothing listens there
        berlin = await nodes("berlin", **smtp_settings(down))
        barcelona = await nodes("barcelona")
        editor = await staff(berlin, "editor")
        await barcelona.api("POST", "/follows", json={"account": berlin.account}, status=201)
        await settle(barcelona, berlin)

        assert await Mailer(berlin.node).run_once() == 1
        (mail,) = await mails(berlin)
        assert (mail.state, mail.attempts) == ("pending", 1)
        assert mail.last_error is not None and mail.last_error.startswith("connect:")
        assert mail.next_attempt_at > utcnow() + backoff(1) - timedelta(seconds=30)
        # Not due again yet; the staff pages answer meanwhile.
        assert await Mailer(berlin.node).run_once() == 0
        assert (await editor.get("/staff/notifications")).status == 200

        # The server is up but says "try later" (4xx): retried after a longer wait.
        inbox.answer = "451 4.3.0 try later"
        later = utcnow() + timedelta(minutes=2)
        berlin.settings = dataclasses.replace(berlin.settings, **smtp_settings(inbox.port))
        await berlin.stop()
        await berlin.start()
        assert await Mailer(berlin.node, clock=lambda: later).run_once() == 1
        (mail,) = await mails(berlin)
        assert (mail.state, mail.attempts) == ("pending", 2)
        assert mail.last_error is not None and mail.last_error.startswith("451")
        assert mail.next_attempt_at > later + backoff(2) - timedelta(seconds=1)

        # Accepted at last.
        inbox.answer = None
        after = later + timedelta(hours=1)
        assert await Mailer(berlin.node, clock=lambda: after).run_once() == 1
        assert [(m.state, m.attempts) for m in await mails(berlin)] == [("sent", 3)]
        assert len(inbox.messages) == 1 and "now follows your city" in inbox.messages[0]["Subject"]


async def test_a_refused_recipient_is_given_up(nodes, staff) -> None:
    async with smtp_server() as inbox:
        inbox.answer = "550 5.1.1 no such user"
        berlin = await nodes("berlin", **smtp_settings(inbox.port))
        barcelona = await nodes("barcelona")
        await staff(berlin, "editor")
        await barcelona.api("POST", "/follows", json={"account": berlin.account}, status=201)
        await settle(barcelona, berlin)
        assert await Mailer(berlin.node).run_once() == 1
        (mail,) = await mails(berlin)
        assert (mail.state, mail.attempts) == ("failed", 1)
        assert mail.last_error is not None and mail.last_error.startswith("550")
        assert inbox.messages == []


async def test_a_comment_on_our_challenge_notifies_and_our_own_does_not(nodes, staff) -> None:
    berlin, barcelona = await nodes("berlin"), await nodes("barcelona")
    editor = await staff(berlin, "editor")
    ids = await offered(barcelona, berlin)
    await barcelona.api(
        "POST",
        "/comments",
        status=201,
        json={"in_reply_to": ids["challenge"], "content": "Our shelters open at 10."},
    )
    # Berlin's own answer in its thread is no news to Berlin's staff.
    await berlin.api(
        "POST",
        "/comments",
        status=201,
        json={"in_reply_to": ids["challenge"], "content": "Thank you!"},
    )
    await settle(barcelona, berlin)
    notes = await rows_of(berlin, editor.email)
    assert [n.kind for n in notes] == ["follow", "offer", "comment"]
    assert "commented on “Cooling schools in summer”" in notes[-1].summary
    assert notes[-1].link == ids["challenge"]
