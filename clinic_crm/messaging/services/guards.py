"""The guards a message passes at sending time: the patient still active, its kind's own
timeliness (registered by the layer that plans it), opt-outs, quiet hours in the
patient's zone, the weekly cap, consent per channel. What a batch needs for them is
fetched in one query each (``send_batch_context``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from patients.models import ConsentKind, ConsentRecord, Patient
from patients.selectors import consent_allows, consent_states
from patients.zones import patient_zone

from ..models import (
    TRANSACTIONAL_KINDS,
    Message,
    MessageOptOut,
    MessagingSettings,
    SuppressReason,
    WaitReason,
    consent_kind_for,
)
from .reach import channels_for, patient_inactive

# The weekly cap counts what went out in the trailing seven days.
CAP_WINDOW = timedelta(days=7)


@dataclass
class Outcome:
    status: str
    channel: str = ""
    subject: str | None = None
    body: str | None = None
    provider_id: str = ""
    reason: str = ""
    error: str = ""
    due_at: datetime | None = None
    sent: bool = False
    attempts_back: bool = False  # waiting (quiet hours, weekly cap) is not an attempt
    waiting_reason: str = ""  # a WaitReason when it goes back to wait
    maybe_sent: bool = False  # keep attempt_started_at: the last call's fate is unknown


@dataclass
class SendBatch:
    """What the guards need about a batch, each fetched in one query."""

    config: MessagingSettings
    # patient id -> the consent_states of the patient
    consents: dict[int, dict[tuple[str, str], ConsentRecord]] = field(default_factory=dict)
    opted_out: set[tuple[int, str]] = field(default_factory=set)  # (patient id, kind)
    # patient id -> when each non-transactional message sent in the last 7 days went
    # out, oldest first (the dispatcher adds the batch's own sends as it makes them)
    weekly: dict[int, list[datetime]] = field(default_factory=dict)
    # message id -> its kind's timeliness, for kinds with a registered guard
    timeliness: dict[int, Timeliness] = field(default_factory=dict)


@dataclass(frozen=True)
class Timeliness:
    """What a kind's guard says of a message about to go out: ``moot`` (a SuppressReason:
    what it is about is gone, e.g. the visit was cancelled) or the ``latest_useful``
    moment to send it (past it: too late; quiet hours lasting past it: too late too).

    ``defer``: when the weekly cap blocks it, wait until the cap allows instead of
    suppressing; suppressed WEEKLY_CAP only when that moment is after ``latest_useful``."""

    moot: str = ""
    latest_useful: datetime | None = None
    defer: bool = False


KindGuard = Callable[[list[Message], MessagingSettings], dict[int, Timeliness]]
_kind_guards: dict[str, KindGuard] = {}


def kind_guard_register(kind: str, guard: KindGuard) -> None:
    """The layer that plans messages of ``kind`` judges, at sending time, whether they are
    still timely (journeys: a reminder of a visit since cancelled). One guard per kind;
    it is given a batch's messages of its kind at once and answers ``{message id:
    Timeliness}`` (leaving out a message means "timely"), in a constant number of
    queries."""
    _kind_guards[kind] = guard


def quiet_until(patient: Patient, now: datetime, config: MessagingSettings) -> datetime | None:
    """The end of the patient's quiet hours if ``now`` falls inside them."""
    zone = patient_zone(patient)
    local = now.astimezone(zone)
    start, end, clock = config.quiet_hours_start, config.quiet_hours_end, local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def weekly_cap_frees_at(sent: list[datetime], cap: int) -> datetime | None:
    """When a patient who was sent ``sent`` (oldest first) in the trailing week may get
    one more non-transactional message under ``cap``: the moment the (n - cap + 1)-th
    oldest turns seven days old. None when the cap allows it already, or never will (a
    cap of 0)."""
    if len(sent) < cap or cap == 0:
        return None
    return sent[len(sent) - cap] + CAP_WINDOW


def message_guard(message: Message, now: datetime, batch: SendBatch) -> Outcome | None:
    """Why the message must not go out now (suppressed or waiting), or None."""
    config, patient = batch.config, message.patient

    def suppress(reason: str) -> Outcome:
        return Outcome(Message.Status.SUPPRESSED, reason=reason)

    if patient_inactive(patient):
        return suppress(SuppressReason.PATIENT_INACTIVE)
    latest_useful = None
    defer = False
    timeliness = batch.timeliness.get(message.pk)
    if timeliness is not None:
        if timeliness.moot:
            return suppress(timeliness.moot)
        latest_useful, defer = timeliness.latest_useful, timeliness.defer
        if latest_useful is not None and now > latest_useful:
            return suppress(SuppressReason.TOO_LATE)
    if not message.transactional and (patient.pk, message.kind) in batch.opted_out:
        return suppress(SuppressReason.OPTED_OUT)
    quiet_end = quiet_until(patient, now, config)
    if quiet_end is not None:
        if latest_useful is not None and quiet_end > latest_useful:
            return suppress(SuppressReason.QUIET_HOURS_TOO_LATE)
        return Outcome(
            Message.Status.PENDING,
            due_at=quiet_end,
            attempts_back=True,
            waiting_reason=WaitReason.QUIET_HOURS,
        )
    if not message.transactional:
        sent = batch.weekly.get(patient.pk, [])
        if len(sent) >= config.weekly_cap:
            frees_at = weekly_cap_frees_at(sent, config.weekly_cap) if defer else None
            if frees_at is None or (latest_useful is not None and frees_at > latest_useful):
                return suppress(SuppressReason.WEEKLY_CAP)
            return Outcome(
                Message.Status.PENDING,
                due_at=frees_at,
                attempts_back=True,
                waiting_reason=WaitReason.WEEKLY_CAP,
            )
    return None


def channel_pick(message: Message, batch: SendBatch, exclude: set[str]) -> str | Outcome:
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
    return Outcome(Message.Status.SUPPRESSED, reason=reason)


def send_batch_context(messages: list[Message]) -> SendBatch:
    batch = SendBatch(config=MessagingSettings.current())
    patient_ids = {m.patient_id for m in messages}
    batch.consents = consent_states(
        patient_ids=patient_ids, kinds=[ConsentKind.REMINDERS, ConsentKind.MARKETING]
    )
    marketing = [m.patient_id for m in messages if not m.transactional]
    if marketing:
        batch.opted_out = set(
            MessageOptOut.objects.filter(patient_id__in=marketing).values_list("patient_id", "kind")
        )
        # Strictly younger than a week: a message sent exactly seven days ago no longer
        # counts, so one deferred to that moment goes out when it comes.
        week_ago = timezone.now() - CAP_WINDOW
        sent = (
            Message.objects.filter(
                patient_id__in=marketing,
                status=Message.Status.SENT,
                sent_at__gt=week_ago,
            )
            .exclude(kind__in=TRANSACTIONAL_KINDS)
            .order_by("sent_at")
            .values_list("patient_id", "sent_at")
        )
        for patient_id, sent_at in sent:
            if sent_at is not None:  # always set here (sent_at__gt); for the type checker
                batch.weekly.setdefault(patient_id, []).append(sent_at)
    for kind, guard in _kind_guards.items():
        of_kind = [m for m in messages if m.kind == kind]
        if of_kind:
            batch.timeliness.update(guard(of_kind, batch.config))
    return batch
