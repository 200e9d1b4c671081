"""The one interface every channel backend implements.

A backend turns an :class:`OutboundMessage` into one provider call and says how it went:
it returns a :class:`SendResult` when the provider accepted the message, raises
:class:`TransientSendError` when trying again later may work (timeout, 5xx, rate limit,
connection refused) and :class:`PermanentSendError` when it will not (bad number, blocked
bot, refused credentials). It never retries on its own and never touches the database:
the dispatcher (``messaging.services``) owns the row's state machine.

``idempotency_window`` says for how many seconds the provider itself refuses to deliver a
second message with the same idempotency key (0: not at all, ``math.inf``: always). A
message whose previous attempt was cut off mid-call (a worker killed after the request
left, a read timeout) is sent again only inside that window; otherwise it fails as
"delivery unknown" for staff to check, because sending twice is worse than asking —
unless the backend can ask the provider (``can_look_up``): then :meth:`look_up` says
whether the provider has the message, and the dispatcher records it as sent, sends it
(the provider never got it) or fails it with the provider's reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutboundMessage:
    message_id: int
    idempotency_key: str
    channel: str
    to: str  # E.164 phone, email address or Telegram chat id, by channel
    subject: str
    body: str


@dataclass(frozen=True)
class SendResult:
    provider_id: str = ""


@dataclass(frozen=True)
class LookUp:
    """What a provider says about a message we may have sent: ``accepted`` (it has it:
    queued, delivered or read), ``failed`` (it had it and could not deliver), or
    ``not_found`` (it never got it, so sending it now makes no second copy)."""

    ACCEPTED = "accepted"
    FAILED = "failed"
    NOT_FOUND = "not_found"

    state: str
    provider_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery-status callback from a provider, parsed."""

    provider_id: str
    delivered: bool
    reason: str = ""  # the provider's words when not delivered
    message_id: int | None = None  # when the provider echoes our id back


class SendError(Exception):
    transient = False

    def __init__(
        self, reason: str, *, retry_after: float | None = None, maybe_sent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        # The request may have reached the provider (a read timeout): a retry is a resend.
        self.maybe_sent = maybe_sent


class TransientSendError(SendError):
    transient = True


class PermanentSendError(SendError):
    transient = False


@dataclass
class ChannelBackend:
    channel: str = ""
    idempotency_window: float = 0
    options: dict = field(default_factory=dict, repr=False)

    def may_resend(self, seconds_since_attempt: float) -> bool:
        """Whether a message whose last attempt may have gone out that long ago can be
        sent again without risking a second copy."""
        return seconds_since_attempt < self.idempotency_window

    def send(self, message: OutboundMessage) -> SendResult:  # pragma: no cover - interface
        raise NotImplementedError

    # Whether look_up() can ask the provider about a message sent earlier.
    can_look_up = False

    def look_up(self, message: OutboundMessage) -> LookUp:  # pragma: no cover - interface
        """Asks the provider what became of ``message`` (by the id sent with it); raises
        TransientSendError when the provider can't be asked right now."""
        raise NotImplementedError

    def parse_delivery_report(self, data: dict) -> list[DeliveryReport]:
        """Turns a provider's status callback (its form or JSON fields) into reports.
        Backends without callbacks return nothing."""
        return []

    def close(self) -> None:
        """Releases pooled connections; the dispatcher calls it after a batch."""


INFINITE_WINDOW = math.inf
