"""A real SMTP server on loopback (aiosmtpd) that keeps what arrives, for the notification tests.

``answer`` makes it refuse mail (``"451 4.3.0 try later"``, ``"550 5.1.1 no such user"``) the way
a real server does, at the DATA stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class MailCatcher:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.answer: str | None = None  # None: accept
        self.port = 0

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.answer is not None:
            return self.answer
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@asynccontextmanager
async def smtp_server() -> AsyncIterator[MailCatcher]:
    """Serve SMTP on 127.0.0.1 (a free port, in ``catcher.port``) until the block ends."""
    catcher = MailCatcher()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(catcher, hostname="mail.test", loop=loop), "127.0.0.1", 0
    )
    catcher.port = server.sockets[0].getsockname()[1]
    try:
        yield catcher
    finally:
        server.close()
        await server.wait_closed()


def smtp_settings(port: int) -> dict[str, Any]:
    """Node settings that send to the loopback server in plain SMTP (no TLS on loopback)."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_sender": "cityfed@berlin.test",
        "smtp_timeout": 10.0,
    }
