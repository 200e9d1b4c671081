"""Survey invitations through the outbox: planned with the visit's completion, the right
survey, the contact budget (one survey per patient per interval, the weekly cap defers
rather than drops), the reasons not to ask, the one reminder, and the stale cut-off."""

from datetime import timedelta

import pytest
from django.core import mail

from clinic_crm.messaging.models import Message, MessagingSettings
from clinic_crm.messaging.services.dispatch import messages_dispatch
from feedback.invitations import survey_reminders_plan
from feedback.links import survey_key
from feedback.models import FeedbackSettings, Survey, SurveyInvitation
from journeys.models import Task
from journeys.services.visit_completion import FinishCare, visit_complete
from patients.models import ConsentRecord
from tests.feedback.factories import MORNING, complete
from tests.journeys.factories import StageFactory, TreatmentPlanFactory, VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def now(time_machine):
    time_machine.move_to(MORNING, tick=False)
    return MORNING


@pytest.fixture
def email_patient(clinic, settings):
    settings.MESSAGING_EMAIL_BACKEND = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = "https://clinic.example.ru"
    patient = clinic.patient
    patient.email = "anna@example.com"
    patient.preferred_channel = "email"
    patient.save()
    ConsentRecord.objects.create(
        patient=patient,
        kind="reminders",
        channel="any",
        granted=True,
        recorded_at=MORNING - timedelta(days=30),
    )
    return patient


def significant_stage(clinic):
    plan = TreatmentPlanFactory(
        patient=clinic.patient, branch=clinic.branch, lead_doctor=clinic.doctor
    )
    return StageFactory(option__plan=plan, specialty=clinic.ortho, significant=True)


def test_completing_a_visit_plans_the_micro_survey_two_hours_after_it_ends(
    clinic, visit_survey, email_patient, now
):
    visit = complete(clinic)
    invitation = SurveyInvitation.objects.get(visit=visit)
    assert invitation.survey.kind == Survey.Kind.VISIT
    assert invitation.attribute_keys == ["communication", "waiting"]
    message = invitation.message
    assert message.kind == "survey"
    assert message.status == Message.Status.PENDING
    assert message.scheduled_for == visit.ends_at + timedelta(hours=2)
    assert message.journey.visit == visit
    assert invitation.expires_at == message.scheduled_for + timedelta(days=7)
    # The link in the text is the invitation's short link, under 45 characters whole.
    url = message.context["survey_url"]
    assert url in message.body
    assert len(url) < 45, url
    assert survey_key(url.rsplit("/", 1)[1]) == invitation.key


def test_a_completion_that_rolls_back_leaves_no_invitation(clinic, visit_survey, now):
    start = MORNING - timedelta(minutes=30)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status="arrived",
    )
    with pytest.raises(Exception, match="observation period"):
        visit_complete(
            actor=clinic.doctor, visit=visit, next_step=FinishCare(observation_months=500)
        )
    assert not SurveyInvitation.objects.exists()
    assert not Message.objects.filter(kind="survey").exists()


def test_a_significant_stage_gets_the_stage_survey_with_every_aspect(
    clinic, visit_survey, email_patient, now
):
    visit = complete(clinic, stage=significant_stage(clinic))
    invitation = SurveyInvitation.objects.get(visit=visit)
    assert invitation.survey.kind == Survey.Kind.STAGE
    assert len(invitation.attribute_keys) == 5


def test_micro_survey_aspects_rotate_for_a_returning_patient(
    clinic, visit_survey, email_patient, now
):
    micro = Survey.objects.get(kind="visit")
    from feedback.models import CsiAttribute

    micro.attributes.set(CsiAttribute.objects.all())  # a pool of five, two asked each time
    FeedbackSettings.objects.update_or_create(pk=1, defaults={"interval_days": 0})
    asked = []
    for minutes in (600, 400, 200):
        visit = complete(clinic, minutes_ago=minutes)
        asked.append(SurveyInvitation.objects.get(visit=visit).attribute_keys)
    assert asked == [
        ["communication", "waiting"],
        ["staff", "comfort"],
        ["clarity", "communication"],
    ]


def test_one_survey_per_patient_per_interval_with_the_reason_on_the_row(
    clinic, visit_survey, email_patient, now
):
    complete(clinic, minutes_ago=300)
    second = complete(clinic, minutes_ago=60)
    message = SurveyInvitation.objects.get(visit=second).message
    assert (message.status, message.suppressed_reason) == ("suppressed", "survey_recent")


def test_a_stage_survey_replaces_a_micro_survey_still_waiting(
    clinic, visit_survey, email_patient, now
):
    first = complete(clinic, minutes_ago=300)
    stage_visit = complete(clinic, stage=significant_stage(clinic), minutes_ago=60)
    replaced = SurveyInvitation.objects.get(visit=first).message
    assert (replaced.status, replaced.suppressed_reason) == ("suppressed", "survey_replaced")
    assert SurveyInvitation.objects.get(visit=stage_visit).message.status == "pending"


def test_no_survey_while_a_recovery_call_is_open(clinic, visit_survey, email_patient, now):
    Task.objects.create(
        kind=Task.Kind.NEGATIVE_FEEDBACK,
        patient=clinic.patient,
        branch=clinic.branch,
        title="Call back",
        due_at=MORNING + timedelta(hours=5),
    )
    message = SurveyInvitation.objects.get(visit=complete(clinic)).message
    assert (message.status, message.suppressed_reason) == ("suppressed", "recovery_open")


def test_no_survey_when_the_clinic_switches_them_off(clinic, visit_survey, email_patient, now):
    FeedbackSettings.objects.update_or_create(pk=1, defaults={"surveys": False})
    complete(clinic)
    assert not SurveyInvitation.objects.exists()


def test_the_invitation_goes_out_with_its_link_and_opt_out(
    clinic, visit_survey, email_patient, now, time_machine
):
    visit = complete(clinic)
    time_machine.move_to(visit.ends_at + timedelta(hours=2, minutes=1), tick=False)
    messages_dispatch()
    invitation = SurveyInvitation.objects.select_related("message").get(visit=visit)
    assert invitation.message.status == "sent"
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert invitation.message.context["survey_url"] in body
    assert "/optout/" in body or "optout" in body  # a non-urgent message: one-click opt-out


def test_the_weekly_cap_defers_the_invitation_and_it_goes_out_when_the_cap_frees(
    clinic, visit_survey, email_patient, now, time_machine
):
    MessagingSettings.objects.update_or_create(pk=1, defaults={"weekly_cap": 1})
    earlier = Message.objects.create(
        patient=clinic.patient,
        kind="recall",
        channel="email",
        language="ru",
        body="Check-up",
        scheduled_for=MORNING - timedelta(days=6, hours=20),
        due_at=MORNING - timedelta(days=6, hours=20),
        status="sent",
        sent_at=MORNING - timedelta(days=6, hours=20),
        idempotency_key="recall:earlier",
    )
    visit = complete(clinic)
    time_machine.move_to(visit.ends_at + timedelta(hours=2, minutes=1), tick=False)
    messages_dispatch()
    message = SurveyInvitation.objects.get(visit=visit).message
    assert message.status == "pending"
    assert message.waiting_reason == "weekly_cap"
    assert message.due_at == earlier.sent_at + timedelta(days=7)
    time_machine.move_to(message.due_at + timedelta(minutes=1), tick=False)
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.waiting_reason) == ("sent", "")


def test_an_invitation_that_could_not_go_out_for_72_hours_is_suppressed_as_stale(
    clinic, visit_survey, email_patient, now, time_machine
):
    visit = complete(clinic)
    time_machine.move_to(visit.ends_at + timedelta(hours=72, minutes=1), tick=False)
    messages_dispatch()
    message = SurveyInvitation.objects.get(visit=visit).message
    assert (message.status, message.suppressed_reason) == ("suppressed", "stale")
    assert not mail.outbox


def test_one_reminder_after_48_hours_to_a_patient_who_has_not_answered(
    clinic, visit_survey, email_patient, now, time_machine
):
    visit = complete(clinic)
    time_machine.move_to(visit.ends_at + timedelta(hours=2, minutes=1), tick=False)
    messages_dispatch()
    assert survey_reminders_plan() == 0  # not yet
    time_machine.move_to(visit.ends_at + timedelta(hours=50, minutes=2), tick=False)
    assert survey_reminders_plan() == 1
    assert survey_reminders_plan() == 0  # once
    invitation = SurveyInvitation.objects.select_related("reminder").get(visit=visit)
    assert invitation.reminder.kind == "survey"
    assert invitation.reminder.context["survey_url"] == invitation.message.context["survey_url"]
    messages_dispatch()
    assert len(mail.outbox) == 2
    assert "напоминаем" in mail.outbox[1].body.lower()


def test_no_reminder_once_the_patient_answered(
    clinic, visit_survey, email_patient, now, time_machine
):
    from feedback.answers import survey_answer_record

    visit = complete(clinic)
    time_machine.move_to(visit.ends_at + timedelta(hours=2, minutes=1), tick=False)
    messages_dispatch()
    invitation = SurveyInvitation.objects.get(visit=visit)
    survey_answer_record(invitation=invitation, nps_score=9, require=("nps",))
    time_machine.move_to(visit.ends_at + timedelta(hours=50, minutes=2), tick=False)
    assert survey_reminders_plan() == 0
