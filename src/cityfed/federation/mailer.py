"""The mailer: sends the mail queue (models/notifications.py) over SMTP with aiosmtplib.

A task of its own beside the inbox and delivery workers (federation/runtime.py), so a slow or
absent mail server never holds up a request or other work. Each pass leases a few due mails,
sends them one by one (one SMTP connection per pass), and on failure schedules the next attempt
with a doubling backoff from a minute; a permanent refusal (5xx) or running out of attempts marks
the mail failed. Once a pass it also queues the daily digests that are due.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from cityfed.models import notifications as notification_queries
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.mailer")

# Headers folded only at RFC 5322's hard limit of 998: the standard library's folding of
# encoded words at 78 loses the space between two of them ("“Climate shelters”" arrives as
# "“Climateshelters”"), so a subject with quotes or umlauts is kept on one line.
HEADER_POLICY = email.policy.SMTP.clone(max_line_length=998)
BATCH = 20
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after the ``attempts``-th failure, at most six hours."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


class Mailer:
    def __init__(self, node: Node, clock: Callable[[], datetime] = utcnow) -> None:
        self.node = node
        self.clock = clock

    @property
    def sender(self) -> str:
        settings = self.node.settings
        return settings.smtp_sender or f"noreply@{settings.hostname}"

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail pass failed; trying again later")
            await asyncio.sleep(self.node.settings.smtp_poll_interval)

    async def run_once(self) -> int:
        """Queue due digests, then send what is due; how many mails were tried."""
        settings = self.node.settings
        now = self.clock()
        async with self.node.db.transaction() as session:
            digests = await notification_queries.queue_digests(session, now, self.node.urls.base)
        if digests:
            log.info("queued %d daily digest mail(s)", digests)
        if not settings.smtp_host:
            return 0  # no mail server configured: mails wait in the queue
        async with self.node.db.transaction() as session:
            due = await notification_queries.lease_mails(session, now, limit=BATCH, lease_for=LEASE)
            batch = [(m.id, m.recipient, m.subject, m.body, m.attempts) for m in due]
        if not batch:
            return 0
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",  # False: never, not "if offered"
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("mail server %s unreachable: %s", settings.smtp_host, exc)
            for mail_id, _, _, _, attempts in batch:
                await self._failed(mail_id, attempts, f"connect: {exc}", permanent=False)
            return len(batch)
        try:
            for mail_id, recipient, subject, body, attempts in batch:
                await self._send(client, mail_id, recipient, subject, body, attempts)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        return len(batch)

    async def _send(
        self,
        client: aiosmtplib.SMTP,
        mail_id: int,
        recipient: str,
        subject: str,
        body: str,
        attempts: int,
    ) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.node.settings.hostname)
        message.set_content(body)
        try:
            # Flattened here: aiosmtplib's send_message would fold with its own policy.
            await client.sendmail(self.sender, [recipient], message.as_bytes(policy=HEADER_POLICY))
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            await self._failed(mail_id, attempts, f"{exc.code} {exc.message}", permanent=permanent)
            return
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._failed(mail_id, attempts, str(exc), permanent=False)
            return
        async with self.node.db.transaction() as session:
            await notification_queries.mail_sent(session, mail_id)
        log.info("mail %d sent to %s: %s", mail_id, recipient, subject)

    async def _failed(self, mail_id: int, attempts: int, error: str, *, permanent: bool) -> None:
        give_up = permanent or attempts >= self.node.settings.smtp_max_attempts
        retry_at = None if give_up else self.clock() + backoff(attempts)
        async with self.node.db.transaction() as session:
            await notification_queries.mail_failed(session, mail_id, error, retry_at=retry_at)
        if give_up:
            log.warning("mail %d given up after %d attempt(s): %s", mail_id, attempts, error)
        else:
            log.info("mail %d not sent (%s); next attempt at %s", mail_id, error, retry_at)
