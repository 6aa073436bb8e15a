"""A real SMTP server on loopback for the alert notifier's tests (aiosmtpd, in a thread of the test).

It accepts mail for anyone and keeps each message (its envelope and its parsed content) in memory, so a
test reads what the host's staff would find in their mailbox. ``refuse = True`` makes it answer every
message with a temporary failure (451), as a mail server that is down for maintenance does.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from simulation.services.common import free_port


@dataclass(frozen=True)
class Mail:
    """One message as delivered: who it went to and what it said."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        return str(part.get_content()) if part is not None else ""

    @property
    def raw(self) -> str:
        """Everything of the message (headers and body) as text, for privacy scans."""
        return self.message.as_string()


@dataclass
class SmtpServer:
    """The running server: its port and the mails it has taken."""

    host: str
    port: int
    mails: list[Mail] = field(default_factory=list)
    refuse: bool = False
    refused: int = 0
    """Messages answered with the temporary failure."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's handler hook
        if self.refuse:
            self.refused += 1
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.mails.append(Mail(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 2.0.0 Message accepted"

    def taken(self) -> list[Mail]:
        with self._lock:
            return list(self.mails)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@contextlib.contextmanager
def start_smtp() -> Iterator[SmtpServer]:
    """Start an SMTP server on 127.0.0.1 on a free port; stopped when the block ends."""
    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
