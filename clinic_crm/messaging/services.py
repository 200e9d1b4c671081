"""Writing the outbox and sending it.

Planning (``message_plan``, ``visit_reminders_plan``, ``visit_messages_suppress``) runs
inside the caller's transaction, so a booking and its reminders commit or roll back
together. Sending (``messages_dispatch``) claims due rows with ``FOR UPDATE SKIP
LOCKED``, marks them ``sending`` under a claim token and a lease, calls the channel
backend outside any transaction, and records each outcome only where the row still
carries that claim. So two dispatchers never take the same row, a redelivered task finds
nothing to do, and a worker killed mid-send leaves a row whose lease runs out: it is sent
again with the same idempotency key where the provider refuses duplicates, and failed as
"delivery unknown" where it can't.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.after_commit import queue_after_commit
from clinic_crm.db import values_sql
from clinic_crm.forms import has_control_characters
from patients.models import ConsentKind, Patient
from patients.selectors import consent_allows, consent_states
from patients.zones import patient_zone

from .backends import backend_for, channel_enabled
from .backends.base import (
    ChannelBackend,
    LookUp,
    OutboundMessage,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from .links import optout_url
from .models import (
    TRANSACTIONAL_KINDS,
    UNKNOWN_AFTER_ASKING,
    UNKNOWN_DELIVERY,
    Message,
    MessageChannel,
    MessageOptOut,
    MessagingSettings,
    SuppressReason,
    consent_kind_for,
)
from .rendering import journey_context, render, wording_for

logger = logging.getLogger("clinic_crm.messaging")

# The order channels are tried in after the patient's preferred one.
CHANNEL_ORDER = (MessageChannel.SMS, MessageChannel.TELEGRAM, MessageChannel.EMAIL)
MAX_RETRY_DELAY = timedelta(hours=6)
_CHANNELS = frozenset(MessageChannel.values)
# What re-rendering a message for another channel reads; the dispatcher loads it only for
# the few messages that fall back (the rendered text of the planned channel is stored).
JOURNEY_ROWS = (
    "patient",
    "visit__doctor__profile__specialty",
    "visit__branch",
    "visit__service",
    "visit__stage__option__plan",
    "plan__branch",
    "stage",
)


def channel_address(patient: Patient, channel: str) -> str:
    return {
        MessageChannel.SMS: patient.phone,
        MessageChannel.EMAIL: patient.email,
        MessageChannel.TELEGRAM: patient.telegram_chat_id,
    }.get(channel, "")


def channels_for(patient: Patient, first: str | None = None) -> list[str]:
    """The channels to try, best first: ``first``, the patient's preferred one, then the
    clinic's order; only those the clinic sends on and the patient can be reached on."""
    order = [first, patient.preferred_channel, *CHANNEL_ORDER]
    seen: list[str] = []
    for channel in order:
        if channel in _CHANNELS and channel not in seen:
            seen.append(channel)
    return [c for c in seen if channel_address(patient, c) and channel_enabled(c)]


def patient_inactive(patient: Patient) -> bool:
    return patient.is_archived or patient.is_deceased or patient.merged_into_id is not None


LinkProvider = Callable[[Message], dict[str, str]]
_link_providers: list[LinkProvider] = []


def message_links_register(provider: LinkProvider) -> None:
    """Adds ``provider(message) -> {name: absolute url}`` to every message's template
    context (the layers above add their links: a patient's calendar, a reminder's answer
    page). Registered in ``AppConfig.ready``."""
    if provider not in _link_providers:
        _link_providers.append(provider)


def _links(message: Message) -> dict[str, str]:
    links: dict[str, str] = {}
    for provider in _link_providers:
        links.update(provider(message))
    if message.kind not in TRANSACTIONAL_KINDS:
        links["optout_url"] = optout_url(patient_id=message.patient_id, kind=message.kind)
    return links


def message_text(message: Message, *, channel: str) -> tuple[str, str]:
    """The message's subject and body for ``channel``, from its template and the journey
    rows it is about."""
    visit, plan = message.visit, message.plan
    context = journey_context(
        patient=message.patient,
        visit=visit,
        stage=message.stage,
        plan=plan,
        links={**_links(message), **(message.context or {})},
    )
    wording = wording_for(kind=message.kind, language=message.language, channel=channel)
    return render(wording, context, language=message.language)


def _kick_dispatcher_after_commit() -> None:
    """Asks for a dispatch once the transaction commits. Only a shortcut: when the broker
    is away the message waits for beat's next minute, and the change that wrote it stands."""
    from .tasks import messages_dispatch_task

    queue_after_commit(messages_dispatch_task, "immediate dispatch")


@transaction.atomic(savepoint=False)  # part of the caller's transaction: no savepoint
def message_plan(
    *,
    patient: Patient,
    kind: str,
    key: str,
    scheduled_for: datetime,
    visit=None,
    plan=None,
    stage=None,
    context: dict | None = None,
) -> Message:
    """Writes one message into the outbox, once per ``key``: planning the same thing
    again returns the row already there. A patient who can't be reached gets the row
    too, suppressed with the reason, so staff see why nothing went out."""
    existing = Message.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    channels = channels_for(patient)
    message = Message(
        patient=patient,
        kind=kind,
        channel=channels[0] if channels else (patient.preferred_channel or MessageChannel.SMS),
        language=patient.preferred_language or "ru",
        scheduled_for=scheduled_for,
        due_at=scheduled_for,
        idempotency_key=key,
        visit=visit,
        plan=plan,
        stage=stage,
        context=context or {},
    )
    if message.channel not in MessageChannel.values:
        message.channel = MessageChannel.SMS
    reason = ""
    if patient_inactive(patient):
        reason = SuppressReason.PATIENT_INACTIVE
    elif not channels:
        reason = SuppressReason.NO_CONTACT
    message.subject, message.body = message_text(message, channel=message.channel)
    if reason:
        message.status = Message.Status.SUPPRESSED
        message.suppressed_reason = reason
        message.closed_at = timezone.now()
    message.save()
    if not reason and scheduled_for <= timezone.now():
        _kick_dispatcher_after_commit()
    return message


def visit_messages_suppress(*, visit, reason: str, keep_keys=()) -> int:
    """Suppresses the visit's messages that have not gone out yet (a moved, cancelled or
    finished visit). Rows already being sent are left to their dispatcher."""
    return (
        Message.objects.filter(visit=visit, status=Message.Status.PENDING)
        .exclude(idempotency_key__in=list(keep_keys))
        .update(
            status=Message.Status.SUPPRESSED, suppressed_reason=reason, closed_at=timezone.now()
        )
    )


def visit_messages_unsuppress(*, visit, reason: str, since: datetime) -> int:
    """Puts back the visit's messages suppressed for ``reason`` from ``since`` on: the
    change that stopped them was undone (an arrival marked by mistake). They wait for the
    dispatcher again, whose guards still judge them (a reminder too late is not sent)."""
    restored = Message.objects.filter(
        visit=visit,
        status=Message.Status.SUPPRESSED,
        suppressed_reason=reason,
        closed_at__gte=since,
    ).update(status=Message.Status.PENDING, suppressed_reason="", closed_at=None)
    if restored:
        _kick_dispatcher_after_commit()
    return restored


# --- Dispatch --------------------------------------------------------------------------


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


CLAIM_SQL = """
UPDATE messaging_message m
SET status = 'sending', claim = %(claim)s, lease_until = %(now)s + %(lease)s * interval '1 second',
    attempts = m.attempts + 1
FROM (
    SELECT id, status AS was FROM messaging_message
    WHERE (status = 'pending' AND due_at <= %(now)s)
       OR (status = 'sending' AND lease_until < %(now)s)
    ORDER BY due_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) due
WHERE m.id = due.id
RETURNING m.id
"""


RENEW_SQL = """
UPDATE messaging_message SET lease_until = %(now)s + %(lease)s * interval '1 second'
WHERE claim = %(claim)s AND status = 'sending'
"""


def _lease(claim: uuid.UUID, now: datetime | None) -> dict:
    """The parameters of a statement that (re)leases rows to ``claim``."""
    return {
        "claim": claim,
        "now": now or timezone.now(),
        "lease": settings.MESSAGING_SEND_LEASE_SECONDS,
    }


def messages_lease_renew(*, claim: uuid.UUID, now: datetime | None = None) -> int:
    """Extends this dispatcher's claim while it is still working the batch, so that a
    short lease (taken over soon after a worker dies) never runs out under a live one."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RENEW_SQL, _lease(claim, now))
        return cursor.rowcount


def messages_claim(*, limit: int, now: datetime | None = None) -> tuple[uuid.UUID, list[int]]:
    """Claims up to ``limit`` due messages for this dispatcher, in one statement that
    commits at once: rows still pending, and rows whose earlier claim ran out (the worker
    died). Returns the claim and the ids."""
    claim = uuid.uuid4()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, {**_lease(claim, now), "limit": limit})
        return claim, [row[0] for row in cursor.fetchall()]


@dataclass
class _Outcome:
    status: str
    channel: str = ""
    subject: str | None = None
    body: str | None = None
    provider_id: str = ""
    reason: str = ""
    error: str = ""
    due_at: datetime | None = None
    sent: bool = False
    attempts_back: bool = False  # waiting (quiet hours) is not an attempt
    maybe_sent: bool = False  # keep attempt_started_at: the last call's fate is unknown


@dataclass
class _Batch:
    """What the guards need about a batch, each fetched in one query."""

    config: MessagingSettings
    consents: dict = field(default_factory=dict)
    opted_out: set = field(default_factory=set)
    weekly: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class Timeliness:
    """What a kind's guard says of a message about to go out: ``moot`` (a SuppressReason:
    what it is about is gone, e.g. the visit was cancelled) or the ``latest_useful``
    moment to send it (past it: too late; quiet hours lasting past it: too late too)."""

    moot: str = ""
    latest_useful: datetime | None = None


KindGuard = Callable[[Message, MessagingSettings], Timeliness]
_kind_guards: dict[str, KindGuard] = {}


def kind_guard_register(kind: str, guard: KindGuard) -> None:
    """The layer that plans messages of ``kind`` judges, at sending time, whether they are
    still timely (journeys: a reminder of a visit since cancelled). One guard per kind."""
    _kind_guards[kind] = guard


def _quiet_until(patient: Patient, now: datetime, config: MessagingSettings) -> datetime | None:
    """The end of the patient's quiet hours if ``now`` falls inside them."""
    zone = patient_zone(patient)
    local = now.astimezone(zone)
    start, end, clock = config.quiet_hours_start, config.quiet_hours_end, local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def _guard(message: Message, now: datetime, batch: _Batch) -> _Outcome | None:
    """Why the message must not go out now (suppressed or waiting), or None."""
    config, patient = batch.config, message.patient

    def suppress(reason: str) -> _Outcome:
        return _Outcome(Message.Status.SUPPRESSED, reason=reason)

    if patient_inactive(patient):
        return suppress(SuppressReason.PATIENT_INACTIVE)
    latest_useful = None
    kind_guard = _kind_guards.get(message.kind)
    if kind_guard is not None:
        timeliness = kind_guard(message, config)
        if timeliness.moot:
            return suppress(timeliness.moot)
        latest_useful = timeliness.latest_useful
        if latest_useful is not None and now > latest_useful:
            return suppress(SuppressReason.TOO_LATE)
    if not message.transactional and (patient.pk, message.kind) in batch.opted_out:
        return suppress(SuppressReason.OPTED_OUT)
    quiet_until = _quiet_until(patient, now, config)
    if quiet_until is not None:
        if latest_useful is not None and quiet_until > latest_useful:
            return suppress(SuppressReason.QUIET_HOURS_TOO_LATE)
        return _Outcome(Message.Status.PENDING, due_at=quiet_until, attempts_back=True)
    if not message.transactional:
        if batch.weekly[patient.pk] >= config.weekly_cap:
            return suppress(SuppressReason.WEEKLY_CAP)
    return None


def _pick_channel(message: Message, batch: _Batch, exclude: set[str]) -> str | _Outcome:
    """The first channel the patient can be reached on and has consented to for this
    kind, starting with the message's own."""
    patient = message.patient
    reachable = [c for c in channels_for(patient, message.channel) if c not in exclude]
    state = batch.consents.get(patient.pk, {})
    kind = consent_kind_for(message.kind)
    for channel in reachable:
        if consent_allows(state, kind, channel):
            return channel
    reason = SuppressReason.NO_CONSENT if reachable else SuppressReason.NO_CONTACT
    return _Outcome(Message.Status.SUPPRESSED, reason=reason)


def _retry_delay(attempts: int, config: MessagingSettings, retry_after: float | None):
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


def _send(request: _Send):
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
    batch: _Batch,
    backends: dict[str, ChannelBackend],
) -> Generator[_Send, object, _Outcome]:
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
                return _Outcome(Message.Status.FAILED, error=UNKNOWN_DELIVERY)
            settled = yield from _ask_provider(message, backend=backend, batch=batch, now=now)
            if settled is not None:
                return settled
    blocked = _guard(message, now, batch)
    if blocked is not None:
        return blocked
    # The weekly cap counts this message from now on, so that the batch's other messages
    # to the same patient (decided before this one's call returns) see it; given back
    # below if it does not go out.
    capped = not message.transactional
    if capped:
        batch.weekly[message.patient_id] += 1
    outcome = yield from _send_on_some_channel(message, now=now, batch=batch, backends=backends)
    if capped and outcome.status != Message.Status.SENT:
        batch.weekly[message.patient_id] -= 1
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
    message: Message, *, backend: ChannelBackend, batch: _Batch, now: datetime
) -> Generator[_Send, object, _Outcome | None]:
    """Settles an attempt of unknown fate by asking the provider: sent (it has the
    message), failed (it could not deliver it), or None when the provider never got it
    and the message may go as if for the first time. A provider that can't be asked is
    asked again later, while attempts remain."""
    outbound = _outbound(message, message.channel, message.subject, message.body)
    answer = yield _Send(backend, outbound, look_up=True)
    if isinstance(answer, SendError):
        if message.attempts >= batch.config.max_attempts:
            return _Outcome(
                Message.Status.FAILED,
                error=UNKNOWN_AFTER_ASKING.format(reason=answer.reason),
                maybe_sent=True,
            )
        delay = _retry_delay(message.attempts, batch.config, answer.retry_after)
        return _Outcome(
            Message.Status.PENDING,
            error=f"{message.channel}: {answer.reason}",
            due_at=now + delay,
            maybe_sent=True,
        )
    if answer.state == LookUp.ACCEPTED:
        return _Outcome(
            Message.Status.SENT, channel=message.channel, provider_id=answer.provider_id, sent=True
        )
    if answer.state == LookUp.FAILED:
        return _Outcome(
            Message.Status.FAILED,
            channel=message.channel,
            provider_id=answer.provider_id,
            error=f"{message.channel}: {answer.reason}",
        )
    return None  # not found: it never went out


def _send_on_some_channel(
    message: Message, *, now: datetime, batch: _Batch, backends: dict[str, ChannelBackend]
) -> Generator[_Send, object, _Outcome]:
    tried: set[str] = set()
    last_error = ""
    while True:
        channel = _pick_channel(message, batch, exclude=tried)
        if isinstance(channel, _Outcome):
            if tried:  # every reachable channel failed for good
                return _Outcome(Message.Status.FAILED, error=last_error)
            return channel
        backend = _backend(channel, backends)
        subject, body = message.subject, message.body
        if channel != message.channel:
            full = Message.objects.select_related(*JOURNEY_ROWS).get(pk=message.pk)
            subject, body = message_text(full, channel=channel)
        result = yield _Send(backend, _outbound(message, channel, subject, body))
        if isinstance(result, PermanentSendError):
            tried.add(channel)
            last_error = f"{channel}: {result.reason}"
            continue  # fall back to the next channel the patient can be reached on
        if isinstance(result, SendError):
            exc = result
            error = f"{channel}: {exc.reason}"
            if exc.maybe_sent and not backend.may_resend(0):
                return _Outcome(Message.Status.FAILED, channel=channel, error=UNKNOWN_DELIVERY)
            if message.attempts >= batch.config.max_attempts:
                return _Outcome(
                    Message.Status.FAILED, channel=channel, error=error, maybe_sent=exc.maybe_sent
                )
            delay = _retry_delay(message.attempts, batch.config, exc.retry_after)
            if exc.maybe_sent:  # come back while the provider still knows the key
                delay = min(delay, timedelta(seconds=backend.idempotency_window / 2))
            return _Outcome(
                Message.Status.PENDING,
                channel=channel,
                subject=subject,
                body=body,
                error=error,
                due_at=now + delay,
                maybe_sent=exc.maybe_sent,
            )
        return _Outcome(
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
    last_error = CASE WHEN v.error = '' THEN m.last_error ELSE v.error END,
    due_at = COALESCE(v.due_at, m.due_at),
    attempts = m.attempts - v.attempts_back,
    sent_at = CASE WHEN v.sent THEN %(now)s ELSE m.sent_at END,
    closed_at = CASE WHEN v.status IN ('sent', 'failed', 'suppressed') THEN %(now)s END,
    claim = NULL,
    lease_until = NULL,
    attempt_started_at = CASE WHEN v.maybe_sent THEN m.attempt_started_at END
FROM (VALUES %(rows)s) AS v(id, status, channel, subject, body, provider_id, reason, error,
                            due_at, attempts_back, sent, maybe_sent)
WHERE m.id = v.id AND m.claim = %(claim)s AND m.status = 'sending'
"""


def _record(claim: uuid.UUID, outcomes: dict[int, _Outcome], now: datetime) -> int:
    """Writes every outcome of a batch in one statement, only where the row still carries
    this claim (a dispatcher whose lease ran out must not overwrite the one that took over).
    Returns how many rows took it."""
    if not outcomes:
        return 0
    template = (
        "(%s::bigint, %s, %s, %s::text, %s::text, %s, %s, %s, %s::timestamptz, %s::int,"
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
        return cursor.rowcount


def _batch_context(messages: list[Message]) -> _Batch:
    batch = _Batch(config=MessagingSettings.current())
    patient_ids = {m.patient_id for m in messages}
    batch.consents = consent_states(
        patient_ids=patient_ids, kinds=[ConsentKind.REMINDERS, ConsentKind.MARKETING]
    )
    marketing = [m.patient_id for m in messages if not m.transactional]
    if marketing:
        batch.opted_out = set(
            MessageOptOut.objects.filter(patient_id__in=marketing).values_list("patient_id", "kind")
        )
        week_ago = timezone.now() - timedelta(days=7)
        batch.weekly = Counter(
            dict(
                Message.objects.filter(
                    patient_id__in=marketing,
                    status=Message.Status.SENT,
                    sent_at__gte=week_ago,
                )
                .exclude(kind__in=TRANSACTIONAL_KINDS)
                .values_list("patient_id")
                .annotate(n=Count("id"))
            )
        )
    return batch


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
        Message.objects.filter(claim=claim, status=Message.Status.SENDING).select_related(
            "patient", "visit"
        )
    )
    stats = DispatchStats(claimed=len(claimed), lost=len(claimed) - len(messages))
    if not messages:
        return stats
    batch = _batch_context(messages)
    outcomes: dict[int, _Outcome] = {}
    steps: dict[int, Generator] = {}
    waiting: dict[int, _Send] = {}

    def advance(pk: int, reply=None) -> None:
        try:
            request = steps[pk].send(reply)
        except StopIteration as done:
            outcomes[pk] = done.value
        except Exception as exc:  # a bug or a template gone bad: the row must not hang
            logger.exception("message %s could not be sent", pk)
            outcomes[pk] = _Outcome(Message.Status.FAILED, error=f"internal error: {exc!r}"[:500])
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
        in_flight: list[tuple[int, Future]] = []
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
    for outcome in outcomes.values():
        key = {
            Message.Status.SENT: "sent",
            Message.Status.FAILED: "failed",
            Message.Status.SUPPRESSED: "suppressed",
        }.get(outcome.status)
        if key:
            setattr(stats, key, getattr(stats, key) + 1)
        elif outcome.attempts_back:
            stats.waiting += 1
        else:
            stats.retried += 1
    recorded = _record(claim, outcomes, timezone.now())
    stats.lost += len(outcomes) - recorded
    return stats


def messages_next_takeover(now: datetime | None = None) -> datetime | None:
    """When the earliest claim held by another dispatcher runs out, if it does within one
    lease: the moment to look again, in case that dispatcher died (a live one renews its
    claim, and the look finds nothing to take)."""
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS)
    earliest = (
        Message.objects.filter(status=Message.Status.SENDING, lease_until__lte=horizon)
        .order_by("lease_until")
        .values_list("lease_until", flat=True)
        .first()
    )
    return max(earliest, now) if earliest is not None else None


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


_LINE_BREAK = re.compile(r"\r\n?")


class AnswerTextInvalid(Exception):
    """The patient's note or comment can't be taken; the message says so in the
    patient's language (the caller has switched to it)."""


def patient_text_clean(text: str, *, max_length: int) -> str:
    """A note typed on a patient page: line breaks made plain, cut to ``max_length``.
    Control characters other than newline and tab (NUL, which PostgreSQL refuses, among
    them) are refused with AnswerTextInvalid."""
    text = _LINE_BREAK.sub("\n", text or "").strip()
    if has_control_characters(text, allowed="\n\t"):
        raise AnswerTextInvalid(
            _("Your text contains characters that can't be saved. Please type it again.")
        )
    return text[:max_length]


def delivery_reports_record(*, channel: str, reports) -> int:
    """Stores what a provider says about delivery. A report names our message id where
    the provider echoes it, else the provider's id; only sent messages of that channel are
    touched, so a forged or stale report can't reopen anything."""
    updated = 0
    for report in reports:
        rows = Message.objects.filter(channel=channel, status=Message.Status.SENT)
        if report.message_id is not None:
            rows = rows.filter(pk=report.message_id)
        else:
            rows = rows.filter(provider_id=report.provider_id)
        fields = {
            "delivery": Message.Delivery.DELIVERED
            if report.delivered
            else Message.Delivery.UNDELIVERED
        }
        if not report.delivered and report.reason:
            fields["last_error"] = f"{channel}: {report.reason}"
        updated += rows.update(**fields)
    return updated


@transaction.atomic
def message_optout(*, patient_id: int, kind: str) -> bool:
    """Records a patient's "no more of these" and suppresses what of that kind is still
    waiting. True the first time."""
    created = MessageOptOut.objects.get_or_create(patient_id=patient_id, kind=kind)[1]
    Message.objects.filter(patient_id=patient_id, kind=kind, status=Message.Status.PENDING).update(
        status=Message.Status.SUPPRESSED,
        suppressed_reason=SuppressReason.OPTED_OUT,
        closed_at=timezone.now(),
    )
    return created


@transaction.atomic
def message_retry(*, message: Message, actor) -> Message:
    """Puts a failed message back in the queue (staff's "retry")."""
    updated = Message.objects.filter(pk=message.pk, status=Message.Status.FAILED).update(
        status=Message.Status.PENDING,
        due_at=timezone.now(),
        attempts=0,
        closed_at=None,
    )
    if updated:
        _kick_dispatcher_after_commit()
    message.refresh_from_db()
    return message


__all__ = [
    "DispatchStats",
    "channels_for",
    "delivery_reports_record",
    "message_optout",
    "message_plan",
    "message_retry",
    "messages_claim",
    "messages_deliver",
    "messages_dispatch",
    "visit_messages_suppress",
    "visit_messages_unsuppress",
]
