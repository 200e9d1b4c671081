"""Sending the outbox. ``messages_dispatch`` claims due rows with ``FOR UPDATE SKIP
LOCKED``, marks them ``sending`` under a claim token and a lease, calls the channel
backend outside any transaction, and records each outcome only where the row still
carries that claim. So two dispatchers never take the same row, a redelivered task finds
nothing to do, and a worker killed mid-send leaves a row whose lease runs out: it is sent
again with the same idempotency key where the provider refuses duplicates, asked about
where the provider can be asked, and failed as "delivery unknown" where it can't."""

from __future__ import annotations

import bisect
import logging
import time
import uuid
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinic_crm.db import values_sql

from ..backends import backend_for
from ..backends.base import (
    ChannelBackend,
    LookUp,
    OutboundMessage,
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
)
from ..models import (
    UNKNOWN_AFTER_ASKING,
    UNKNOWN_DELIVERY,
    Message,
    MessagingSettings,
)
from .claims import messages_claim, messages_lease_renew
from .compose import message_text
from .guards import Outcome, SendBatch, channel_pick, message_guard, send_batch_context
from .reach import channel_address

logger = logging.getLogger("clinic_crm.messaging")

MAX_RETRY_DELAY = timedelta(hours=6)


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    retried: int = 0
    waiting: int = 0
    lost: int = 0
    batches: int = 0

    def add(self, other: DispatchStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _retry_delay(attempts: int, config: MessagingSettings, retry_after: float | None) -> timedelta:
    delay = timedelta(seconds=config.retry_base_seconds * 2 ** max(attempts - 1, 0))
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return min(delay, MAX_RETRY_DELAY)


def _backend(channel: str, backends: dict[str, ChannelBackend]) -> ChannelBackend:
    if channel not in backends:
        backends[channel] = backend_for(channel)
    return backends[channel]


MARK_SQL = """
UPDATE messaging_message m SET attempt_started_at = %(now)s, channel = v.channel
FROM (VALUES %(rows)s) AS v(id, channel)
WHERE m.id = v.id AND m.claim = %(claim)s
"""


def _mark_attempts(claim: uuid.UUID, sends: list[tuple[int, str]], now: datetime) -> None:
    """Notes, before the provider calls, which messages are about to be sent and on
    which channel: if the worker dies now, these are the ones whose fate is unknown."""
    with transaction.atomic(), connection.cursor() as cursor:
        values = values_sql(cursor, "(%s::bigint, %s)", sends)
        cursor.execute(MARK_SQL.replace("%(rows)s", values), {"now": now, "claim": claim})


@dataclass(frozen=True)
class _Send:
    backend: ChannelBackend
    outbound: OutboundMessage
    look_up: bool = False  # ask the provider about an earlier attempt; sends nothing


# What a provider call comes back with: the backend's answer, or the SendError it raised.
_Reply = SendResult | LookUp | SendError


def _send(request: _Send) -> _Reply:
    """One provider call; its result or its error (run in the dispatcher's threads)."""
    try:
        if request.look_up:
            return request.backend.look_up(request.outbound)
        return request.backend.send(request.outbound)
    except SendError as exc:
        return exc
    except Exception as exc:  # a backend bug must not take the batch down
        logger.exception("backend %s failed", request.outbound.channel)
        return TransientSendError(f"internal error: {exc.__class__.__name__}")


def _deliver(
    message: Message,
    *,
    now: datetime,
    batch: SendBatch,
    backends: dict[str, ChannelBackend],
) -> Generator[_Send, _Reply | None, Outcome]:
    """The decisions for one message, as a generator: it yields each provider call it
    wants made and is sent back the result (or the SendError), so a batch's calls can be
    made together; it returns the outcome."""
    if message.attempt_started_at is not None:
        # The last attempt's fate is unknown. Repeat it only where the provider would
        # refuse a second copy; past that, ask the provider where it can be asked; never
        # guess.
        since = (now - message.attempt_started_at).total_seconds()
        backend = _backend(message.channel, backends)
        if not backend.may_resend(since):
            if not backend.can_look_up:
                return Outcome(Message.Status.FAILED, error=UNKNOWN_DELIVERY)
            settled = yield from _ask_provider(message, backend=backend, batch=batch, now=now)
            if settled is not None:
                return settled
    blocked = message_guard(message, now, batch)
    if blocked is not None:
        return blocked
    # The weekly cap counts this message from now on, so that the batch's other messages
    # to the same patient (decided before this one's call returns) see it; given back
    # below if it does not go out.
    capped = not message.transactional
    if capped:
        bisect.insort(batch.weekly.setdefault(message.patient_id, []), now)
    outcome = yield from _send_on_some_channel(message, now=now, batch=batch, backends=backends)
    if capped and outcome.status != Message.Status.SENT:
        batch.weekly[message.patient_id].remove(now)
    return outcome


def _outbound(message: Message, channel: str, subject: str, body: str) -> OutboundMessage:
    return OutboundMessage(
        message_id=message.pk,
        idempotency_key=message.idempotency_key,
        channel=channel,
        to=channel_address(message.patient, channel),
        subject=subject,
        body=body,
    )


def _ask_provider(
    message: Message, *, backend: ChannelBackend, batch: SendBatch, now: datetime
) -> Generator[_Send, _Reply | None, Outcome | None]:
    """Settles an attempt of unknown fate by asking the provider: sent (it has the
    message), failed (it could not deliver it), or None when the provider never got it
    and the message may go as if for the first time. A provider that can't be asked is
    asked again later, while attempts remain."""
    outbound = _outbound(message, message.channel, message.subject, message.body)
    # A look-up is answered by the backend's look_up(): a LookUp, or the error it raised.
    answer = cast("LookUp | SendError", (yield _Send(backend, outbound, look_up=True)))
    if isinstance(answer, SendError):
        if message.attempts >= batch.config.max_attempts:
            return Outcome(
                Message.Status.FAILED,
                error=UNKNOWN_AFTER_ASKING.format(reason=answer.reason),
                maybe_sent=True,
            )
        delay = _retry_delay(message.attempts, batch.config, answer.retry_after)
        return Outcome(
            Message.Status.PENDING,
            error=f"{message.channel}: {answer.reason}",
            due_at=now + delay,
            maybe_sent=True,
        )
    if answer.state == LookUp.ACCEPTED:
        return Outcome(
            Message.Status.SENT, channel=message.channel, provider_id=answer.provider_id, sent=True
        )
    if answer.state == LookUp.FAILED:
        return Outcome(
            Message.Status.FAILED,
            channel=message.channel,
            provider_id=answer.provider_id,
            error=f"{message.channel}: {answer.reason}",
        )
    return None  # not found: it never went out


def _send_on_some_channel(
    message: Message, *, now: datetime, batch: SendBatch, backends: dict[str, ChannelBackend]
) -> Generator[_Send, _Reply | None, Outcome]:
    tried: set[str] = set()
    last_error = ""
    while True:
        channel = channel_pick(message, batch, exclude=tried)
        if isinstance(channel, Outcome):
            if tried:  # every reachable channel failed for good
                return Outcome(Message.Status.FAILED, error=last_error)
            return channel
        backend = _backend(channel, backends)
        subject, body = message.subject, message.body
        if channel != message.channel:
            # The planned channel's text is stored; another one is rendered again, with
            # the facts of what the message is about asked again of the layer above.
            subject, body = message_text(message, channel=channel)
        # A send is answered by the backend's send(): a SendResult, or the error it raised.
        result = cast(
            "SendResult | SendError",
            (yield _Send(backend, _outbound(message, channel, subject, body))),
        )
        if isinstance(result, PermanentSendError):
            tried.add(channel)
            last_error = f"{channel}: {result.reason}"
            continue  # fall back to the next channel the patient can be reached on
        if isinstance(result, SendError):
            exc = result
            error = f"{channel}: {exc.reason}"
            if exc.maybe_sent and not backend.may_resend(0):
                return Outcome(Message.Status.FAILED, channel=channel, error=UNKNOWN_DELIVERY)
            if message.attempts >= batch.config.max_attempts:
                return Outcome(
                    Message.Status.FAILED, channel=channel, error=error, maybe_sent=exc.maybe_sent
                )
            delay = _retry_delay(message.attempts, batch.config, exc.retry_after)
            if exc.maybe_sent:  # come back while the provider still knows the key
                delay = min(delay, timedelta(seconds=backend.idempotency_window / 2))
            return Outcome(
                Message.Status.PENDING,
                channel=channel,
                subject=subject,
                body=body,
                error=error,
                due_at=now + delay,
                maybe_sent=exc.maybe_sent,
            )
        return Outcome(
            Message.Status.SENT,
            channel=channel,
            subject=subject,
            body=body,
            provider_id=result.provider_id,
            error=last_error,
            sent=True,
        )


RECORD_SQL = """
UPDATE messaging_message m
SET status = v.status,
    channel = COALESCE(NULLIF(v.channel, ''), m.channel),
    subject = COALESCE(v.subject, m.subject),
    body = COALESCE(v.body, m.body),
    provider_id = v.provider_id,
    suppressed_reason = v.reason,
    waiting_reason = v.waiting_reason,
    last_error = CASE WHEN v.error = '' THEN m.last_error ELSE v.error END,
    due_at = COALESCE(v.due_at, m.due_at),
    attempts = m.attempts - v.attempts_back,
    sent_at = CASE WHEN v.sent THEN %(now)s ELSE m.sent_at END,
    closed_at = CASE WHEN v.status IN ('sent', 'failed', 'suppressed') THEN %(now)s END,
    claim = NULL,
    lease_until = NULL,
    attempt_started_at = CASE WHEN v.maybe_sent THEN m.attempt_started_at END
FROM (VALUES %(rows)s) AS v(id, status, channel, subject, body, provider_id, reason,
                            waiting_reason, error, due_at, attempts_back, sent, maybe_sent)
WHERE m.id = v.id AND m.claim = %(claim)s AND m.status = 'sending'
"""


def _record(claim: uuid.UUID, outcomes: dict[int, Outcome], now: datetime) -> int:
    """Writes every outcome of a batch in one statement, only where the row still carries
    this claim (a dispatcher whose lease ran out must not overwrite the one that took over).
    Returns how many rows took it."""
    if not outcomes:
        return 0
    template = (
        "(%s::bigint, %s, %s, %s::text, %s::text, %s, %s, %s, %s, %s::timestamptz, %s::int,"
        " %s::boolean, %s::boolean)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        values = values_sql(
            cursor,
            template,
            [
                (
                    pk,
                    o.status,
                    o.channel,
                    o.subject,
                    o.body,
                    o.provider_id,
                    o.reason,
                    o.waiting_reason,
                    o.error,
                    o.due_at,
                    1 if o.attempts_back else 0,
                    o.sent,
                    o.maybe_sent,
                )
                for pk, o in outcomes.items()
            ],
        )
        cursor.execute(RECORD_SQL.replace("%(rows)s", values), {"now": now, "claim": claim})
        recorded: int = cursor.rowcount
        return recorded


def messages_deliver(
    *,
    claim: uuid.UUID,
    claimed: list[int],
    backends: dict[str, ChannelBackend],
    pool: ThreadPoolExecutor | None = None,
) -> DispatchStats:
    """Sends every message of one claim and records the outcomes. The provider calls of
    up to MESSAGING_SEND_CONCURRENCY messages are made at once (``pool``), each group
    marked as started first."""
    messages = list(
        Message.objects.filter(claim=claim, status=Message.Status.SENDING).select_related("patient")
    )
    stats = DispatchStats(claimed=len(claimed), lost=len(claimed) - len(messages))
    if not messages:
        return stats
    batch = send_batch_context(messages)
    outcomes: dict[int, Outcome] = {}
    steps: dict[int, Generator[_Send, _Reply | None, Outcome]] = {}
    waiting: dict[int, _Send] = {}

    def advance(pk: int, reply: _Reply | None = None) -> None:
        try:
            request = steps[pk].send(reply)
        except StopIteration as done:
            outcomes[pk] = done.value
        except Exception as exc:  # a bug or a template gone bad: the row must not hang
            logger.exception("message %s could not be sent", pk)
            outcomes[pk] = Outcome(Message.Status.FAILED, error=f"internal error: {exc!r}"[:500])
        else:
            waiting[pk] = request

    now = timezone.now()
    for message in messages:
        steps[message.pk] = _deliver(message, now=now, batch=batch, backends=backends)
        advance(message.pk)
    size = settings.MESSAGING_SEND_CONCURRENCY
    renew_every = settings.MESSAGING_SEND_LEASE_SECONDS / 3
    renewed = time.monotonic()

    def keep_lease() -> None:
        # Between groups (a group waits at most MESSAGING_HTTP_TIMEOUT): a live
        # dispatcher's claim never runs out, a dead one's does within the lease.
        nonlocal renewed
        if time.monotonic() - renewed >= renew_every:
            messages_lease_renew(claim=claim)
            renewed = time.monotonic()

    while waiting:
        requests = list(waiting.items())
        waiting.clear()
        # Pipelined: while one group's calls are in flight, the next group is marked (a
        # database round trip), so the provider calls never wait for our bookkeeping. A
        # group's calls start only after its mark has committed.
        in_flight: list[tuple[int, Future[_Reply]]] = []
        for start in range(0, len(requests), size):
            group = requests[start : start + size]
            keep_lease()
            sends = [(pk, r.outbound.channel) for pk, r in group if not r.look_up]
            if sends:  # a look-up sends nothing: the earlier attempt's time stays
                _mark_attempts(claim, sends, now)
            if pool is None:
                for pk, request in group:
                    advance(pk, _send(request))
                continue
            submitted = [(pk, pool.submit(_send, request)) for pk, request in group]
            for pk, future in in_flight:
                advance(pk, future.result())
            in_flight = submitted
        for pk, future in in_flight:
            advance(pk, future.result())
    stat_names: dict[str, str] = {
        Message.Status.SENT: "sent",
        Message.Status.FAILED: "failed",
        Message.Status.SUPPRESSED: "suppressed",
    }
    for outcome in outcomes.values():
        key = stat_names.get(outcome.status)
        if key:
            setattr(stats, key, getattr(stats, key) + 1)
        elif outcome.attempts_back:
            stats.waiting += 1
        else:
            stats.retried += 1
    recorded = _record(claim, outcomes, timezone.now())
    stats.lost += len(outcomes) - recorded
    return stats


def messages_dispatch(
    *, batch_size: int | None = None, max_seconds: float | None = None
) -> tuple[DispatchStats, bool]:
    """Claims and sends due messages batch after batch until none is due or
    ``max_seconds`` have passed. Returns the figures and whether work is left."""
    batch_size = batch_size or settings.MESSAGING_BATCH_SIZE
    started = timezone.now()
    total = DispatchStats()
    backends: dict[str, ChannelBackend] = {}
    concurrency = settings.MESSAGING_SEND_CONCURRENCY
    pool = ThreadPoolExecutor(concurrency, "send") if concurrency > 1 else None
    try:
        while True:
            claim, claimed = messages_claim(limit=batch_size)
            if not claimed:
                return total, False
            total.add(messages_deliver(claim=claim, claimed=claimed, backends=backends, pool=pool))
            total.batches += 1
            if max_seconds is not None and (
                (timezone.now() - started).total_seconds() >= max_seconds
            ):
                return total, Message.objects.filter(
                    Q(status=Message.Status.PENDING, due_at__lte=timezone.now())
                ).exists()
    finally:
        if pool is not None:
            pool.shutdown()
        for backend in backends.values():
            backend.close()
