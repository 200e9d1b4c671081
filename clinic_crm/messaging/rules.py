"""The clinic's messaging rules beyond visit reminders. Each writes outbox rows whose
idempotency key names its cause, so running a rule again (beat, a manual run, a retry)
plans nothing twice. Consent, quiet hours, caps and opt-outs are judged when a message
is sent, so a rule only decides *that* a message is due, not whether it may go out; the
marketing rules do skip patients with no marketing consent at all, so that a clinic
doesn't fill its outbox with rows that can only be suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from patients.models import ConsentKind, ConsentRecord, Patient

from .models import Holiday, MessageKind, MessagingSettings
from .services import message_plan, patient_inactive

# Rows a rule plans per run at most: a first run on a large clinic catches up over a few
# runs instead of holding one transaction for minutes.
RULE_BATCH = 5000


@dataclass
class RulePlanned:
    planned: int = 0


def local_moment(patient: Patient, day: date, at) -> datetime:
    """``day`` at ``at`` o'clock in the patient's time zone."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(patient.time_zone or settings.TIME_ZONE))


def _active_patients():
    return Patient.objects.filter(is_archived=False, is_deceased=False, merged_into__isnull=True)


def _has_marketing_consent():
    """Patients whose latest marketing record on some channel is a grant (a revocation is
    judged again, exactly, when the message is sent)."""
    return Exists(
        ConsentRecord.objects.filter(
            patient_id=OuterRef("pk"), kind=ConsentKind.MARKETING, granted=True
        )
    )


# --- Rules run right after a visit change (same transaction) ------------------------------


def visit_follow_up_plan(*, visit, config: MessagingSettings | None = None):
    """ "How do you feel?" the day after a completed visit whose service asks for it."""
    config = config or MessagingSettings.current()
    if not config.follow_up or not visit.service.follow_up_next_day:
        return None
    zone = ZoneInfo(visit.patient.time_zone or settings.TIME_ZONE)
    next_day = visit.starts_at.astimezone(zone).date() + timedelta(days=1)
    return message_plan(
        patient=visit.patient,
        kind=MessageKind.FOLLOW_UP,
        key=f"follow_up:visit:{visit.pk}",
        scheduled_for=local_moment(visit.patient, next_day, config.send_at),
        visit=visit,
        context={"feel_url": _feel_url(visit)},
    )


def _feel_url(visit) -> str:
    from .links import feel_link_url

    return feel_link_url(visit=visit)


def visit_new_doctor_plan(*, visit, config: MessagingSettings | None = None):
    """ "Meet your new doctor" when a handoff is booked with a doctor the patient has not
    seen before: who they are and where, right away."""
    from journeys.models import Visit

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
    return message_plan(
        patient=visit.patient,
        kind=MessageKind.NEW_DOCTOR,
        key=f"new_doctor:visit:{visit.pk}",
        scheduled_for=timezone.now(),
        visit=visit,
    )


# --- Rules run by beat every morning ---------------------------------------------------


@transaction.atomic
def rule_recalls(*, today: date | None = None) -> RulePlanned:
    """A check-up is due (a plan's observation period or a visit's recall) and nothing is
    booked that answers it: invite the patient."""
    from journeys.models import TreatmentPlan
    from journeys.selectors import recall_answered, visit_recalls_due

    config = MessagingSettings.current()
    result = RulePlanned()
    if not config.recall:
        return result
    today = today or timezone.localdate()
    plans = (
        TreatmentPlan.objects.filter(
            ~recall_answered(), status=TreatmentPlan.Status.COMPLETED, recall_due_on__lte=today
        )
        .filter(patient__in=_active_patients())
        .select_related("patient", "branch")
        .order_by("recall_due_on", "id")[:RULE_BATCH]
    )
    for plan in plans:
        message_plan(
            patient=plan.patient,
            kind=MessageKind.RECALL,
            key=f"recall:plan:{plan.pk}:{plan.recall_due_on:%Y%m%d}",
            scheduled_for=_not_before_now(local_moment(plan.patient, today, config.send_at)),
            plan=plan,
        )
        result.planned += 1
    visits = (
        visit_recalls_due(until=today)
        .filter(patient__in=_active_patients())
        .select_related("patient", "branch", "service", "doctor__profile")
        .order_by("recall_due_on", "id")[:RULE_BATCH]
    )
    for visit in visits:
        message_plan(
            patient=visit.patient,
            kind=MessageKind.RECALL,
            key=f"recall:visit:{visit.pk}:{visit.recall_due_on:%Y%m%d}",
            scheduled_for=_not_before_now(local_moment(visit.patient, today, config.send_at)),
        )
        result.planned += 1
    return result


def _not_before_now(moment: datetime) -> datetime:
    return max(moment, timezone.now())


@transaction.atomic
def rule_reactivation(*, today: date | None = None) -> RulePlanned:
    """Patients whose last attended visit is older than the dormancy period, with nothing
    booked: one invitation per dormant spell (the key names the last visit)."""
    from journeys.models import Visit

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
        _active_patients()
        .filter(_has_marketing_consent(), Exists(attended), ~Exists(recent_or_booked))
        .order_by("id")[:RULE_BATCH]
    )
    last_visits = dict(
        Visit.objects.filter(patient__in=patients, status__in=Visit.ATTENDED)
        .order_by("patient_id", "-starts_at")
        .distinct("patient_id")
        .values_list("patient_id", "id")
    )
    for patient in patients:
        message_plan(
            patient=patient,
            kind=MessageKind.REACTIVATION,
            key=f"reactivation:{patient.pk}:after:{last_visits.get(patient.pk)}",
            scheduled_for=_not_before_now(local_moment(patient, today, config.send_at)),
        )
        result.planned += 1
    return result


@transaction.atomic
def rule_greetings(*, today: date | None = None) -> RulePlanned:
    """Birthday greetings, and greetings on the clinic's holidays, to patients who agreed
    to marketing messages."""
    config = MessagingSettings.current()
    result = RulePlanned()
    today = today or timezone.localdate()
    consenting = _active_patients().filter(_has_marketing_consent())
    if config.birthday:
        for patient in consenting.filter(
            birth_date__month=today.month, birth_date__day=today.day
        ).order_by("id")[:RULE_BATCH]:
            message_plan(
                patient=patient,
                kind=MessageKind.BIRTHDAY,
                key=f"birthday:{patient.pk}:{today.year}",
                scheduled_for=_not_before_now(local_moment(patient, today, config.send_at)),
            )
            result.planned += 1
    holiday = Holiday.objects.filter(date=today).first() if config.holiday else None
    if holiday is not None:
        for patient in consenting.order_by("id")[:RULE_BATCH]:
            message_plan(
                patient=patient,
                kind=MessageKind.HOLIDAY,
                key=f"holiday:{holiday.date:%Y%m%d}:{patient.pk}",
                scheduled_for=_not_before_now(local_moment(patient, today, config.send_at)),
                context={"holiday": holiday.name},
            )
            result.planned += 1
    return result


@transaction.atomic
def rule_stage_materials(*, today: date | None = None) -> RulePlanned:
    """A stage with materials, coming up: they go out the set number of days before its
    booked visit, or before its window opens while it is not booked yet."""
    from journeys.models import Stage, TreatmentPlan, Visit

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
        zone = ZoneInfo(patient.time_zone or settings.TIME_ZONE)
        day = visit.starts_at.astimezone(zone).date() if visit else stage.window_start
        if day is None:
            continue
        send_on = day - timedelta(days=stage.materials_days_before)
        if send_on > today:
            continue
        message_plan(
            patient=patient,
            kind=MessageKind.EDUCATION,
            key=f"education:stage:{stage.pk}",
            scheduled_for=_not_before_now(local_moment(patient, today, config.send_at)),
            plan=plan,
            stage=stage,
            visit=visit,
        )
        result.planned += 1
    return result


def messaging_rules_run(*, today: date | None = None) -> dict[str, int]:
    return {
        rule.__name__: rule(today=today).planned
        for rule in (rule_recalls, rule_reactivation, rule_greetings, rule_stage_materials)
    }
