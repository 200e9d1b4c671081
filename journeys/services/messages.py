"""What the journeys write in the outbox, and how messaging asks the journeys about it.

Planned in the transaction of the change that causes them: a booked or moved visit's
reminders (and "meet your new doctor" after a handoff), a completed visit's "how do you
feel?". Every morning (messaging's daily run, which these rules join by registration):
check-up invitations, reactivation of dormant patients, a stage's materials before it.
Each message about a visit, plan or stage is noted in ``JourneyMessage`` as it is
planned. Messaging asks, by registration too, for the links every message carries (the
patient's calendar), the facts of a stored message it renders again for another channel,
and whether a batch's reminders are still timely.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from clinic_crm.messaging.models import Message, MessageKind, MessagingSettings, SuppressReason
from clinic_crm.messaging.rendering import absolute_url
from clinic_crm.messaging.rules import (
    RULE_BATCH,
    RulePlanned,
    active_patients,
    daily_rule_register,
    has_marketing_consent,
    local_moment,
    not_before_now,
)
from clinic_crm.messaging.services.compose import message_facts_register, message_links_register
from clinic_crm.messaging.services.guards import Timeliness, kind_guard_register
from clinic_crm.messaging.services.outbox import dispatch_soon, message_plan
from clinic_crm.messaging.services.reach import patient_inactive
from patients.models import Patient
from patients.zones import patient_zone

from ..message_texts import journey_facts
from ..models import JourneyMessage, Stage, TreatmentPlan, Visit
from ..patient_links import calendar_path, feel_link_url, visit_link_url
from ..screening_links import screening_link_url
from ..selectors import recall_answered, visit_recalls_due
from ..selectors_screening import screening_offered


def _latest_useful(visit: Visit, config: MessagingSettings) -> datetime:
    """A reminder later than this is no use (the patient can no longer act on it)."""
    return visit.starts_at - timedelta(minutes=config.reminder_min_lead_minutes)


# --- The outbox rows of a journey ----------------------------------------------------


def _facts(
    *,
    kind: str,
    patient: Patient,
    visit: Visit | None,
    stage: Stage | None,
    plan: TreatmentPlan | None,
) -> dict[str, Any]:
    facts = journey_facts(patient=patient, visit=visit, stage=stage, plan=plan)
    if kind == MessageKind.REMINDER and visit is not None:
        facts["confirm_url"] = visit_link_url(visit=visit)
        if screening_offered(visit=visit):
            facts["screening_url"] = screening_link_url(visit=visit)
    return facts


@transaction.atomic(savepoint=False)  # part of the caller's transaction: no savepoint
def journey_message_plan(
    *,
    patient: Patient,
    kind: str,
    key: str,
    scheduled_for: datetime,
    visit: Visit | None = None,
    plan: TreatmentPlan | None = None,
    stage: Stage | None = None,
    context: dict[str, Any] | None = None,
    suppressed: str = "",
) -> Message:
    """Plans one message about a visit, plan or stage (``message_plan``: once per key) and
    notes what it is about, in the same transaction. ``suppressed``: written suppressed
    with that reason (``message_plan``)."""
    about = visit is not None or plan is not None or stage is not None

    def note(message: Message) -> None:
        if about:
            JourneyMessage.objects.create(message=message, visit=visit, plan=plan, stage=stage)

    # Both run only for a new row: planning a key again (every visit change re-plans its
    # reminders) reads and writes nothing more.
    return message_plan(
        patient=patient,
        kind=kind,
        key=key,
        scheduled_for=scheduled_for,
        facts=lambda: _facts(kind=kind, patient=patient, visit=visit, stage=stage, plan=plan),
        context=context,
        on_created=note,
        suppressed=suppressed,
    )


def visit_messages_suppress(*, visit: Visit, reason: str, keep_keys: Iterable[str] = ()) -> int:
    """Suppresses the visit's messages that have not gone out yet (a moved, cancelled or
    finished visit). Rows already being sent are left to their dispatcher."""
    return (
        Message.objects.filter(journey__visit=visit, status=Message.Status.PENDING)
        .exclude(idempotency_key__in=list(keep_keys))
        .update(
            status=Message.Status.SUPPRESSED, suppressed_reason=reason, closed_at=timezone.now()
        )
    )


def visit_messages_unsuppress(*, visit: Visit, reason: str, since: datetime) -> int:
    """Puts back the visit's messages suppressed for ``reason`` from ``since`` on: the
    change that stopped them was undone (an arrival marked by mistake). They wait for the
    dispatcher again, whose guards still judge them (a reminder too late is not sent)."""
    restored = Message.objects.filter(
        journey__visit=visit,
        status=Message.Status.SUPPRESSED,
        suppressed_reason=reason,
        closed_at__gte=since,
    ).update(status=Message.Status.PENDING, suppressed_reason="", closed_at=None)
    if restored:
        dispatch_soon()
    return restored


# --- Planned with a visit change (same transaction) ------------------------------------


def _reminder_offsets(config: MessagingSettings) -> list[tuple[str, timedelta]]:
    offsets = []
    if config.reminder_24h:
        offsets.append(("24h", timedelta(hours=24)))
    if config.reminder_2h:
        offsets.append(("2h", timedelta(hours=2)))
    return offsets


@transaction.atomic(savepoint=False)
def visit_reminders_plan(*, visit: Visit) -> list[Message]:
    """Plans the reminders of a booked visit. Each key names the visit's start, so
    planning again for the same time is a no-op and a moved visit gets new ones. A
    reminder whose time has passed at booking is sent now if the visit is still far
    enough ahead; only the earliest such one."""
    if visit.status not in Visit.UPCOMING:
        return []
    config = MessagingSettings.current()
    now = timezone.now()
    latest_useful = _latest_useful(visit, config)
    planned, sent_now = [], False
    # In UTC whatever zone the caller's datetime is in (a booking passes the branch's, a
    # row read back is UTC): the same time must give the same key.
    stamp = visit.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M")
    for label, offset in _reminder_offsets(config):
        at = visit.starts_at - offset
        if at < now:
            if sent_now or now > latest_useful:
                continue
            at, sent_now = now, True
        planned.append(
            journey_message_plan(
                patient=visit.patient,
                kind=MessageKind.REMINDER,
                key=f"reminder:visit:{visit.pk}:{label}:{stamp}",
                scheduled_for=at,
                visit=visit,
                plan=visit.stage.option.plan if visit.stage is not None else None,
            )
        )
    return planned


@transaction.atomic(savepoint=False)
def visit_messages_sync(*, visit: Visit) -> None:
    """Makes the visit's outbox tell the truth after a booking, move or status change:
    an upcoming visit has reminders for its current time (those planned for an earlier
    time are suppressed as moved); any other visit has none left pending."""
    if visit.status in Visit.UPCOMING:
        current = visit_reminders_plan(visit=visit)
        introduction = visit_new_doctor_plan(visit=visit)
        if introduction is not None:
            current.append(introduction)
        visit_messages_suppress(
            visit=visit,
            reason=SuppressReason.VISIT_MOVED,
            keep_keys=[m.idempotency_key for m in current],
        )
    elif visit.status in Visit.CANCELLED:
        visit_messages_suppress(visit=visit, reason=SuppressReason.VISIT_CANCELLED)
    else:
        visit_messages_suppress(visit=visit, reason=SuppressReason.VISIT_OVER)
        if visit.status == Visit.Status.COMPLETED:
            visit_follow_up_plan(visit=visit)


def visit_follow_up_plan(
    *, visit: Visit, config: MessagingSettings | None = None
) -> Message | None:
    """ "How do you feel?" the day after a completed visit whose service asks for it."""
    config = config or MessagingSettings.current()
    if not config.follow_up or not visit.service.follow_up_next_day:
        return None
    zone = patient_zone(visit.patient)
    next_day = visit.starts_at.astimezone(zone).date() + timedelta(days=1)
    return journey_message_plan(
        patient=visit.patient,
        kind=MessageKind.FOLLOW_UP,
        key=f"follow_up:visit:{visit.pk}",
        scheduled_for=local_moment(visit.patient, next_day, config.send_at),
        visit=visit,
        context={"feel_url": _feel_url(visit)},
    )


def _feel_url(visit: Visit) -> str:
    return feel_link_url(visit=visit)


def visit_new_doctor_plan(
    *, visit: Visit, config: MessagingSettings | None = None
) -> Message | None:
    """ "Meet your new doctor" when a handoff is booked with a doctor the patient has not
    seen before: who they are and where, right away."""
    config = config or MessagingSettings.current()
    if not config.new_doctor or visit.handoff_id is None:
        return None
    seen_before = (
        Visit.objects.filter(
            patient_id=visit.patient_id, doctor_id=visit.doctor_id, status__in=Visit.ATTENDED
        )
        .exclude(pk=visit.pk)
        .exists()
    )
    if seen_before:
        return None
    return journey_message_plan(
        patient=visit.patient,
        kind=MessageKind.NEW_DOCTOR,
        key=f"new_doctor:visit:{visit.pk}",
        scheduled_for=timezone.now(),
        visit=visit,
    )


# --- Daily rules (messaging's morning run) -------------------------------------------


@transaction.atomic
def rule_recalls(*, today: date | None = None) -> RulePlanned:
    """A check-up is due (a plan's observation period or a visit's recall) and nothing is
    booked that answers it: invite the patient."""
    config = MessagingSettings.current()
    result = RulePlanned()
    if not config.recall:
        return result
    today = today or timezone.localdate()
    plans = (
        TreatmentPlan.objects.filter(
            ~recall_answered(), status=TreatmentPlan.Status.COMPLETED, recall_due_on__lte=today
        )
        .filter(patient__in=active_patients())
        .select_related("patient", "branch")
        .order_by("recall_due_on", "id")[:RULE_BATCH]
    )
    for plan in plans:
        journey_message_plan(
            patient=plan.patient,
            kind=MessageKind.RECALL,
            key=f"recall:plan:{plan.pk}:{plan.recall_due_on:%Y%m%d}",
            scheduled_for=not_before_now(local_moment(plan.patient, today, config.send_at)),
            plan=plan,
        )
        result.planned += 1
    visits = (
        visit_recalls_due(until=today)
        .filter(patient__in=active_patients())
        .select_related("patient", "branch", "service", "doctor__profile")
        .order_by("recall_due_on", "id")[:RULE_BATCH]
    )
    for visit in visits:
        journey_message_plan(
            patient=visit.patient,
            kind=MessageKind.RECALL,
            key=f"recall:visit:{visit.pk}:{visit.recall_due_on:%Y%m%d}",
            scheduled_for=not_before_now(local_moment(visit.patient, today, config.send_at)),
        )
        result.planned += 1
    return result


@transaction.atomic
def rule_reactivation(*, today: date | None = None) -> RulePlanned:
    """Patients whose last attended visit is older than the dormancy period, with nothing
    booked: one invitation per dormant spell (the key names the last visit)."""
    config = MessagingSettings.current()
    result = RulePlanned()
    if not config.reactivation:
        return result
    today = today or timezone.localdate()
    cutoff = timezone.now() - timedelta(days=round(config.reactivation_months * 30.44))
    attended = Visit.objects.filter(patient_id=OuterRef("pk"), status__in=Visit.ATTENDED)
    recent_or_booked = Visit.objects.filter(patient_id=OuterRef("pk")).filter(
        Q(status__in=Visit.ATTENDED, starts_at__gte=cutoff)
        | Q(status__in=Visit.UPCOMING, starts_at__gte=timezone.now())
    )
    patients = (
        active_patients()
        .filter(has_marketing_consent(), Exists(attended), ~Exists(recent_or_booked))
        .order_by("id")[:RULE_BATCH]
    )
    last_visits = dict(
        Visit.objects.filter(patient__in=patients, status__in=Visit.ATTENDED)
        .order_by("patient_id", "-starts_at")
        .distinct("patient_id")
        .values_list("patient_id", "id")
    )
    for patient in patients:
        journey_message_plan(
            patient=patient,
            kind=MessageKind.REACTIVATION,
            key=f"reactivation:{patient.pk}:after:{last_visits.get(patient.pk)}",
            scheduled_for=not_before_now(local_moment(patient, today, config.send_at)),
        )
        result.planned += 1
    return result


@transaction.atomic
def rule_stage_materials(*, today: date | None = None) -> RulePlanned:
    """A stage with materials, coming up: they go out the set number of days before its
    booked visit, or before its window opens while it is not booked yet."""
    config = MessagingSettings.current()
    result = RulePlanned()
    if not config.education:
        return result
    today = today or timezone.localdate()
    horizon = today + timedelta(days=30)
    stages = list(
        Stage.objects.exclude(materials="")
        .filter(
            status__in=[Stage.Status.PLANNED, Stage.Status.BOOKED],
            option__plan__status__in=TreatmentPlan.ACTIVE_STATUSES,
            option__plan__chosen_option=F("option"),  # only the option the patient chose
        )
        .filter(Q(window_start__lte=horizon) | Q(status=Stage.Status.BOOKED))
        .select_related("option__plan__patient", "option__plan__branch")
        .order_by("id")[:RULE_BATCH]
    )
    visits = {
        v.stage_id: v
        for v in Visit.objects.filter(
            stage__in=[s.pk for s in stages],
            status__in=Visit.UPCOMING,
            starts_at__gte=timezone.now(),
        ).order_by("stage_id", "starts_at")
    }
    for stage in stages:
        plan = stage.option.plan
        patient = plan.patient
        if patient_inactive(patient):
            continue
        visit = visits.get(stage.pk)
        zone = patient_zone(patient)
        day = visit.starts_at.astimezone(zone).date() if visit else stage.window_start
        if day is None:
            continue
        send_on = day - timedelta(days=stage.materials_days_before)
        if send_on > today:
            continue
        journey_message_plan(
            patient=patient,
            kind=MessageKind.EDUCATION,
            key=f"education:stage:{stage.pk}",
            scheduled_for=not_before_now(local_moment(patient, today, config.send_at)),
            plan=plan,
            stage=stage,
            visit=visit,
        )
        result.planned += 1
    return result


# --- What messaging asks the journeys (registered in JourneysConfig.ready) ---------------


def reminder_timeliness(
    messages: list[Message], config: MessagingSettings
) -> dict[int, Timeliness]:
    """A reminder is moot once its visit is cancelled or over, and too late once the
    patient could no longer act on it. One query for the batch's reminders."""
    rows = JourneyMessage.objects.filter(
        message__in=[m.pk for m in messages], visit__isnull=False
    ).select_related("visit")
    answers: dict[int, Timeliness] = {}
    for row in rows:
        visit = cast(Visit, row.visit)  # visit__isnull=False
        if visit.status in Visit.CANCELLED:
            answers[row.message_id] = Timeliness(moot=SuppressReason.VISIT_CANCELLED)
        elif visit.status not in Visit.UPCOMING:
            answers[row.message_id] = Timeliness(moot=SuppressReason.VISIT_OVER)
        else:
            answers[row.message_id] = Timeliness(latest_useful=_latest_useful(visit, config))
    return answers


def journey_message_links(message: Message) -> dict[str, str]:
    """Every message links to the patient's calendar."""
    return {"calendar_url": absolute_url(calendar_path(patient_id=message.patient_id))}


def journey_message_facts(message: Message) -> dict[str, Any]:
    """The facts of a stored message about a visit, plan or stage, read again (it is
    rendered for another channel): one query; {} for a message that is not a journey's."""
    row = (
        JourneyMessage.objects.filter(message_id=message.pk)
        .select_related(
            "visit__doctor__profile__specialty",
            "visit__branch",
            "visit__service",
            "visit__stage",
            "plan__branch",
            "stage",
        )
        .first()
    )
    if row is None:
        return {}
    return _facts(
        kind=message.kind, patient=message.patient, visit=row.visit, stage=row.stage, plan=row.plan
    )


def register() -> None:
    message_links_register(journey_message_links)
    message_facts_register(journey_message_facts)
    kind_guard_register(MessageKind.REMINDER, reminder_timeliness)
    for rule in (rule_recalls, rule_reactivation, rule_stage_materials):
        daily_rule_register(rule)
