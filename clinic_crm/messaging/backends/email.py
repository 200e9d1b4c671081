"""Email through Django's configured email backend (SMTP in production)."""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.text import slugify

from .base import (
    ChannelBackend,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)


@dataclass
class EmailBackend(ChannelBackend):
    """SMTP has no idempotency key: the Message-ID header carries ours, so a mail that
    did go out twice is at least recognisable, but the dispatcher never sends again a
    message cut off mid-send on this channel."""

    idempotency_window: float = 0
    _connection: object = None
    # One SMTP connection is not safe to share between the dispatcher's threads.
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _open(self):
        if self._connection is None:
            self._connection = get_connection(fail_silently=False)
        return self._connection

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            return self._send(message)

    def _send(self, message: OutboundMessage) -> SendResult:
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "clinic.local"
        message_id = f"<{slugify(message.idempotency_key.replace(':', '-'))}@{domain}>"
        mail = EmailMessage(
            subject=message.subject,
            body=message.body,
            to=[message.to],
            headers={"Message-ID": message_id},
            connection=self._open(),
        )
        try:
            mail.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError(f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            reason = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentSendError(reason) from exc
            raise TransientSendError(reason) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self.close()
            raise TransientSendError(f"SMTP unavailable: {exc.__class__.__name__}") from exc
        return SendResult(provider_id=message_id)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
