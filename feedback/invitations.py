"""Asking patients: the survey invitation planned with a visit's completion, its one
reminder, and what the outbox asks of feedback at sending time.

- Completing a visit plans the post-visit micro-survey (NPS, two aspects in turn, "why?");
  completing a significant stage plans the stage survey (NPS and every aspect) instead.
  Planned in the completion's transaction (journeys' ``visit_completed_register``), sent
  ``delay_minutes`` after the visit ends.
- One contact budget per patient: the invitation and its reminder are non-urgent messages
  and count against the weekly cap; one survey per patient per ``interval_days`` (a stage
  survey is sent even so, and replaces a micro-survey still waiting). An invitation that
  the cap or quiet hours block waits for the next allowed moment (its kind guard asks the
  dispatcher to defer it) and is suppressed as stale only ``stale_hours`` after the visit.
- Not asked, with the reason on the outbox page: a patient with an open recovery call, or
  one asked within the interval; the outbox itself suppresses what consent, contacts or
  the patient's state (archived, deceased, merged) forbid. Only completed visits are
  asked, so never after a no-show or a cancellation.
- One reminder ``reminder_hours`` after the invitation went out, to a patient who has not
  answered (``survey_reminders_plan``, every quarter of an hour).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clinic_crm.messaging.caching import shortly_cached
from clinic_crm.messaging.models import Message, MessageKind, MessagingSettings, SuppressReason
from clinic_crm.messaging.services.compose import message_text
from clinic_crm.messaging.services.guards import Timeliness
from journeys.models import Task, Visit
from journeys.services.messages import journey_message_plan

from .links import new_key, survey_url
from .models import CsiAttribute, FeedbackSettings, Survey, SurveyInvitation

REMINDER_BATCH = 500


def active_surveys() -> dict[str, tuple[Survey, list[CsiAttribute]]]:
    """The active survey of each kind with its active aspects in order, read at most every
    few seconds per process (saving a survey or an aspect forgets it, feedback/apps.py):
    every completion asks for them."""

    def load() -> dict[str, tuple[Survey, list[CsiAttribute]]]:
        surveys = Survey.objects.filter(is_active=True).prefetch_related("attributes")
        return {s.kind: (s, [a for a in s.attributes.all() if a.is_active]) for s in surveys}

    return shortly_cached("feedback.surveys", load)


def _survey_for(visit: Visit) -> tuple[Survey, list[CsiAttribute]] | None:
    significant = visit.stage is not None and visit.stage.significant
    return active_surveys().get(Survey.Kind.STAGE if significant else Survey.Kind.VISIT)


def asked_attributes(survey: Survey, pool: list[CsiAttribute], *, turn: int) -> list[CsiAttribute]:
    """The aspects an invitation asks: every active aspect of a stage survey; of a
    micro-survey, ``Survey.MICRO_ATTRIBUTES_MAX`` of its aspects, starting at ``turn``
    (the patient's count of earlier invitations), so a returning patient is asked about
    the others in turn."""
    if survey.kind == Survey.Kind.STAGE or len(pool) <= Survey.MICRO_ATTRIBUTES_MAX:
        return pool
    start = (turn * Survey.MICRO_ATTRIBUTES_MAX) % len(pool)
    return [pool[(start + i) % len(pool)] for i in range(Survey.MICRO_ATTRIBUTES_MAX)]


def _why_not(
    visit: Visit,
    survey: Survey,
    earlier: Sequence[tuple[int, str, str | None, datetime]],
    config: FeedbackSettings,
    now: datetime,
) -> tuple[str, list[int]]:
    """Why this patient is not asked now (a SuppressReason, or ""), and the invitations a
    stage survey replaces (micro-surveys not sent yet). ``earlier``: the patient's
    invitations as (id, survey kind, message status, planned)."""
    recovery_open = Task.objects.filter(
        patient_id=visit.patient_id,
        kind=Task.Kind.NEGATIVE_FEEDBACK,
        state__in=Task.OPEN_STATES,
    ).exists()
    if recovery_open:
        return SuppressReason.RECOVERY_OPEN, []
    since = now - timedelta(days=config.interval_days)
    recent = [
        (pk, kind, status)
        for pk, kind, status, created in earlier
        if created >= since and status != Message.Status.SUPPRESSED and kind != Survey.Kind.RECOVERY
    ]
    if not recent:
        return "", []
    if survey.kind == Survey.Kind.STAGE:
        waiting = [
            pk
            for pk, kind, status in recent
            if kind == Survey.Kind.VISIT and status == Message.Status.PENDING
        ]
        return "", waiting
    return SuppressReason.SURVEY_RECENT, []


@transaction.atomic(savepoint=False)  # part of the completion's transaction
def visit_survey_plan(visit: Visit, *, now: datetime | None = None) -> SurveyInvitation | None:
    """Plans the survey invitation of a just completed visit (journeys calls it from
    ``visit_complete`` by registration). Once per visit and survey."""
    config = FeedbackSettings.current()
    if not config.surveys or visit.status != Visit.Status.COMPLETED:
        return None
    asked = _survey_for(visit)
    if asked is None:
        return None
    survey, pool = asked
    # The patient's invitations, one query: this visit's (planned already?), the recent
    # ones (the interval) and how many (whose turn of aspects this is).
    earlier_rows = list(
        SurveyInvitation.objects.filter(patient_id=visit.patient_id).values_list(
            "pk", "visit_id", "survey_id", "survey__kind", "message__status", "created_at"
        )
    )
    for pk, visit_id, survey_id, *_rest in earlier_rows:
        if visit_id == visit.pk and survey_id == survey.pk:
            return SurveyInvitation.objects.get(pk=pk)
    earlier = [(pk, kind, status, created) for pk, _v, _s, kind, status, created in earlier_rows]
    now = now or timezone.now()
    reason, replaced = _why_not(visit, survey, earlier, config, now)
    if replaced:
        Message.objects.filter(
            survey_invitation__pk__in=replaced, status=Message.Status.PENDING
        ).update(
            status=Message.Status.SUPPRESSED,
            suppressed_reason=SuppressReason.SURVEY_REPLACED,
            closed_at=now,
        )
    send_at = max(visit.ends_at + timedelta(minutes=config.delay_minutes), now)
    key = new_key()
    # The message first (its text carries the link, made from the key), then the
    # invitation naming it: no second write.
    message = journey_message_plan(
        patient=visit.patient,
        kind=MessageKind.SURVEY,
        key=f"survey:visit:{visit.pk}:{survey.kind}",
        scheduled_for=send_at,
        visit=visit,
        context={"survey_url": survey_url(key), "survey_reminder": ""},
        suppressed=reason,
    )
    # A random key that is taken (rare, but keys are short) is drawn again; the message
    # is looked up by the link's key only through the invitation, so its text is rewritten.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return SurveyInvitation.objects.create(
                    patient_id=visit.patient_id,
                    visit=visit,
                    survey=survey,
                    key=key,
                    attribute_keys=[
                        a.key for a in asked_attributes(survey, pool, turn=len(earlier))
                    ],
                    message=message,
                    stale_at=visit.ends_at + timedelta(hours=config.stale_hours),
                    expires_at=send_at + timedelta(days=config.link_days),
                )
        except IntegrityError:
            if not SurveyInvitation.objects.filter(key=key).exists():
                raise
            key = new_key()
            message.context = {**message.context, "survey_url": survey_url(key)}
            message.subject, message.body = message_text(message, channel=message.channel)
            message.save(update_fields=["context", "subject", "body"])
    raise IntegrityError("no free survey link key after five draws")


def survey_timeliness(messages: list[Message], config: MessagingSettings) -> dict[int, Timeliness]:
    """The outbox's kind guard for surveys (one query for a batch): an invitation or
    reminder of a finished survey is moot; an invitation is useful until ``stale_hours``
    after the visit, a reminder until its link expires; both wait (deferred) when the
    weekly cap blocks them rather than being dropped."""
    ids = [m.pk for m in messages]
    now = timezone.now()
    stale_after = timedelta(hours=FeedbackSettings.current().stale_hours)
    found: dict[int, Timeliness] = {}
    rows = SurveyInvitation.objects.filter(Q(message_id__in=ids) | Q(reminder_id__in=ids)).values(
        "message_id",
        "reminder_id",
        "answered_at",
        "finished_at",
        "expires_at",
        "stale_at",
        "visit__ends_at",
    )
    for row in rows:
        if row["message_id"] in ids:
            stale = row["stale_at"] or row["visit__ends_at"] + stale_after
            if row["answered_at"] is not None:
                found[row["message_id"]] = Timeliness(moot=SuppressReason.ANSWERED)
            elif now > stale:
                found[row["message_id"]] = Timeliness(moot=SuppressReason.STALE)
            else:
                found[row["message_id"]] = Timeliness(latest_useful=stale, defer=True)
        if row["reminder_id"] in ids:
            if row["answered_at"] is not None:
                found[row["reminder_id"]] = Timeliness(moot=SuppressReason.ANSWERED)
            elif now > row["expires_at"]:
                found[row["reminder_id"]] = Timeliness(moot=SuppressReason.STALE)
            else:
                found[row["reminder_id"]] = Timeliness(latest_useful=row["expires_at"], defer=True)
    return found


def survey_reminders_plan(*, now: datetime | None = None) -> int:
    """Plans the one reminder of each invitation sent ``reminder_hours`` ago and not
    answered. Rows are claimed with SKIP LOCKED, so two runs never remind twice."""
    now = now or timezone.now()
    config = FeedbackSettings.current()
    if not config.surveys:
        return 0
    planned = 0
    with transaction.atomic():
        due = list(
            SurveyInvitation.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(
                reminder__isnull=True,
                answered_at__isnull=True,
                expires_at__gt=now,
                message__status=Message.Status.SENT,
                message__sent_at__lte=now - timedelta(hours=config.reminder_hours),
            )
            .select_related("visit__patient")[:REMINDER_BATCH]
        )
        for invitation in due:
            invitation.reminder = journey_message_plan(
                patient=invitation.visit.patient,
                kind=MessageKind.SURVEY,
                key=f"survey:{invitation.pk}:reminder",
                scheduled_for=now,
                visit=invitation.visit,
                context={"survey_url": survey_url(invitation.key), "survey_reminder": "1"},
            )
            invitation.save(update_fields=["reminder"])
            planned += 1
    return planned
