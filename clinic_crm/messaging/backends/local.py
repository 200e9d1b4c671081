"""Development backends: nothing leaves the machine."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .base import INFINITE_WINDOW, ChannelBackend, OutboundMessage, SendResult

logger = logging.getLogger("clinic_crm.messaging.console")


@dataclass
class ConsoleBackend(ChannelBackend):
    """Writes each message to the worker's log. The key makes a repeat harmless."""

    idempotency_window: float = INFINITE_WINDOW

    def send(self, message: OutboundMessage) -> SendResult:
        logger.info(
            "message %s via %s to %s\n%s\n%s",
            message.idempotency_key,
            message.channel,
            message.to,
            message.subject,
            message.body,
        )
        return SendResult(provider_id=f"console-{message.message_id}")


@dataclass
class FileBackend(ChannelBackend):
    """One file per message, named by its id: sending again rewrites the same file."""

    idempotency_window: float = INFINITE_WINDOW

    def send(self, message: OutboundMessage) -> SendResult:
        directory = Path(self.options["directory"])
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{message.message_id}-{message.channel}.txt"
        path.write_text(
            f"To: {message.to}\nKey: {message.idempotency_key}\nSubject: {message.subject}\n\n"
            f"{message.body}\n",
            encoding="utf-8",
        )
        return SendResult(provider_id=path.name)
