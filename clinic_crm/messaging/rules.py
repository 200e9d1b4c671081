"""The clinic's daily messaging rules. Each writes outbox rows whose idempotency key
names its cause, so running a rule again (beat, a manual run, a retry)
plans nothing twice. Consent, quiet hours, caps and opt-outs are judged when a message
is sent, so a rule only decides *that* a message is due, not whether it may go out; the
marketing rules do skip patients with no marketing consent at all, so that a clinic
doesn't fill its outbox with rows that can only be suppressed.

Messaging owns the greetings; the layers above register their own daily rules (check-up
invitations, reactivation, stage materials: journeys) with :func:`daily_rule_register`
in their ``AppConfig.ready``, and beat's ``messaging_rules_run`` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from patients.models import ConsentKind, ConsentRecord, Patient
from patients.zones import patient_zone

from .models import Holiday, MessageKind, MessagingSettings
from .services.outbox import message_plan

# Rows a rule plans per run at most: a first run on a large clinic catches up over a few
# runs instead of holding one transaction for minutes.
RULE_BATCH = 5000


@dataclass
class RulePlanned:
    planned: int = 0


def local_moment(patient: Patient, day: date, at: time) -> datetime:
    """``day`` at ``at`` o'clock in the patient's time zone."""
    return datetime.combine(day, at, tzinfo=patient_zone(patient))


def active_patients() -> QuerySet[Patient]:
    return Patient.objects.filter(is_archived=False, is_deceased=False, merged_into__isnull=True)


def has_marketing_consent() -> Exists:
    """Patients whose latest marketing record on some channel is a grant (a revocation is
    judged again, exactly, when the message is sent)."""
    return Exists(
        ConsentRecord.objects.filter(
            patient_id=OuterRef("pk"), kind=ConsentKind.MARKETING, granted=True
        )
    )


def not_before_now(moment: datetime) -> datetime:
    return max(moment, timezone.now())


@transaction.atomic
def rule_greetings(*, today: date | None = None) -> RulePlanned:
    """Birthday greetings, and greetings on the clinic's holidays, to patients who agreed
    to marketing messages."""
    config = MessagingSettings.current()
    result = RulePlanned()
    today = today or timezone.localdate()
    consenting = active_patients().filter(has_marketing_consent())
    if config.birthday:
        for patient in consenting.filter(
            birth_date__month=today.month, birth_date__day=today.day
        ).order_by("id")[:RULE_BATCH]:
            message_plan(
                patient=patient,
                kind=MessageKind.BIRTHDAY,
                key=f"birthday:{patient.pk}:{today.year}",
                scheduled_for=not_before_now(local_moment(patient, today, config.send_at)),
            )
            result.planned += 1
    holiday = Holiday.objects.filter(date=today).first() if config.holiday else None
    if holiday is not None:
        for patient in consenting.order_by("id")[:RULE_BATCH]:
            message_plan(
                patient=patient,
                kind=MessageKind.HOLIDAY,
                key=f"holiday:{holiday.date:%Y%m%d}:{patient.pk}",
                scheduled_for=not_before_now(local_moment(patient, today, config.send_at)),
                context={"holiday": holiday.name},
            )
            result.planned += 1
    return result


DailyRule = Callable[..., RulePlanned]
_daily_rules: list[DailyRule] = [rule_greetings]


def daily_rule_register(rule: DailyRule) -> None:
    """Adds ``rule(today=...) -> RulePlanned`` to the morning run (once)."""
    if rule not in _daily_rules:
        _daily_rules.append(rule)


def messaging_rules_run(*, today: date | None = None) -> dict[str, int]:
    """Runs every daily rule, each in its own transaction: what each planned, by name."""
    return {rule.__name__: rule(today=today).planned for rule in _daily_rules}
