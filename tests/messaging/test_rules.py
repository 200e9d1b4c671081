"""The messaging rules: "how do you feel?" after flagged services (and what a "not well"
answer opens), "meet your new doctor", check-up invitations, reactivation, greetings and
stage materials — each planned once per cause."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from clinic_crm.messaging.models import (
    Holiday,
    Message,
    MessageKind,
    MessageTemplate,
    MessagingSettings,
)
from clinic_crm.messaging.rules import messaging_rules_run, rule_greetings
from journeys.models import JourneyEvent, Stage, Task, TreatmentPlan, Visit
from journeys.patient_links import feel_link_url
from journeys.services.messages import rule_reactivation, rule_recalls, rule_stage_materials
from journeys.services.visit_completion import FinishCare, visit_complete
from journeys.services.visit_status import visit_transition
from tests.factories import PatientFactory
from tests.journeys.factories import HandoffFactory, VisitFactory, accepted_plan
from tests.messaging.conftest import book, consent

pytestmark = pytest.mark.django_db


def _path(url):
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _completed_visit(clinic, morning, time_machine):
    visit = book(clinic, starts_at=morning + timedelta(hours=1))
    time_machine.move_to(visit.starts_at, tick=False)
    visit_transition(actor=clinic.admin, visit=visit, to_status="arrived")
    visit_complete(actor=clinic.doctor, visit=visit, next_step=FinishCare(observation_months=0))
    return visit


def test_follow_up_the_next_day_after_a_flagged_service(clinic, morning, providers, time_machine):
    clinic.service.follow_up_next_day = True
    clinic.service.save()
    visit = _completed_visit(clinic, morning, time_machine)
    follow_up = Message.objects.get(kind=MessageKind.FOLLOW_UP, journey__visit=visit)
    assert follow_up.scheduled_for.isoformat() == "2026-12-02T08:00:00+00:00"  # 11:00 Moscow
    assert "/p/feel/" in follow_up.body
    assert (
        Message.objects.get(kind=MessageKind.REMINDER, journey__visit=visit).status == "suppressed"
    )


def test_no_follow_up_after_services_not_flagged(clinic, morning, providers, time_machine):
    visit = _completed_visit(clinic, morning, time_machine)
    assert not Message.objects.filter(kind=MessageKind.FOLLOW_UP, journey__visit=visit).exists()


def test_not_well_opens_one_task_for_the_curator(clinic, client):
    plan, stages = accepted_plan(clinic)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        status=Visit.Status.COMPLETED,
    )
    path = _path(feel_link_url(visit=visit))
    assert 'data-testid="feel-unwell"' in client.get(path).content.decode()
    client.post(path, {"answer": "unwell", "comment": "The gum is swollen"})
    client.post(path, {"answer": "unwell"})  # a second tap records nothing more
    task = Task.objects.get(kind=Task.Kind.FEELS_UNWELL)
    assert (task.assignee, task.plan, task.details) == (clinic.curator, plan, "The gum is swollen")
    assert JourneyEvent.objects.filter(kind="feedback", visit=visit).count() == 1


def test_feeling_well_is_recorded_without_a_task(clinic, client):
    visit = VisitFactory(
        patient=clinic.patient, doctor=clinic.doctor, branch=clinic.branch, service=clinic.service
    )
    response = client.post(_path(feel_link_url(visit=visit)), {"answer": "well"})
    assert 'data-testid="feel-done"' in response.content.decode()
    assert not Task.objects.exists()
    assert client.post("/p/feel/bad:token/", {"answer": "unwell"}).status_code == 404


def test_booking_a_handoff_with_a_new_doctor_introduces_them(clinic, morning, providers):
    clinic.surgeon.profile.short_bio = "Oral surgeon, 20 years."
    clinic.surgeon.profile.save()
    handoff = HandoffFactory(
        patient=clinic.patient, from_doctor=clinic.doctor, to_specialty=clinic.surgery
    )
    from journeys.services.visits import visit_book

    visit = visit_book(
        actor=clinic.admin,
        patient=clinic.patient,
        doctor=clinic.surgeon,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=morning + timedelta(days=2),
        handoff=handoff,
    )
    intro = Message.objects.get(kind=MessageKind.NEW_DOCTOR, journey__visit=visit)
    assert intro.scheduled_for == morning
    assert "Oral surgeon, 20 years." in intro.body


def test_check_up_invitation_when_due_and_nothing_booked(clinic, morning, providers):
    plan, _ = accepted_plan(clinic)
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status="completed",
        completed_at=morning - timedelta(days=200),
        recall_due_on=date(2026, 12, 1),
    )
    assert rule_recalls().planned == 1
    rule_recalls()
    recall = Message.objects.get(kind=MessageKind.RECALL)
    assert recall.journey.plan == plan
    assert "/p/optout/" in recall.body
    Message.objects.all().delete()
    book(clinic, starts_at=morning + timedelta(days=3))  # booked: the check-up is answered
    Message.objects.filter(kind=MessageKind.REMINDER).delete()
    assert rule_recalls().planned == 0


def test_reactivation_only_with_marketing_consent_and_nothing_booked(clinic, morning, providers):
    dormant, unwilling, booked = PatientFactory.create_batch(3, home_branch=clinic.branch)
    for n, patient in enumerate((dormant, unwilling, booked)):
        start = morning - timedelta(days=400, hours=n)
        VisitFactory(
            patient=patient,
            doctor=clinic.doctor,
            branch=clinic.branch,
            service=clinic.service,
            status=Visit.Status.COMPLETED,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
        )
    consent(dormant, kind="marketing")
    consent(booked, kind="marketing")
    book(clinic, starts_at=morning + timedelta(days=3), patient=booked)
    assert rule_reactivation().planned == 1
    rule_reactivation()
    assert list(
        Message.objects.filter(kind=MessageKind.REACTIVATION).values_list("patient", flat=True)
    ) == [dormant.pk]


def test_birthday_and_holiday_greetings(clinic, morning, providers):
    config = MessagingSettings.current()
    config.holiday = True
    config.save()
    Holiday.objects.create(date=date(2026, 12, 1), name="Clinic Day")
    born_today = PatientFactory(birth_date=date(1990, 12, 1))
    consent(born_today, kind="marketing")
    PatientFactory(birth_date=date(1990, 12, 1))  # no marketing consent: nothing
    rule_greetings()
    rule_greetings()
    kinds = sorted(Message.objects.values_list("kind", flat=True))
    assert kinds == ["birthday", "holiday"]
    assert "Clinic Day" in Message.objects.get(kind="holiday").body


def test_stage_materials_go_out_days_before_the_stage(clinic, morning, providers):
    _plan, stages = accepted_plan(clinic)
    Stage.objects.filter(pk=stages[0].pk).update(
        materials="Take painkillers after the adjustment if needed.",
        window_start=date(2026, 12, 3),
    )
    Stage.objects.filter(pk=stages[1].pk).update(
        materials="Later stage.", window_start=date(2026, 12, 20)
    )
    assert rule_stage_materials().planned == 1
    message = Message.objects.get(kind=MessageKind.EDUCATION)
    assert message.journey.stage_id == stages[0].pk
    assert "Take painkillers" in message.body


def test_all_rules_run_together_and_respect_switches(clinic, morning, providers):
    config = MessagingSettings.current()
    config.birthday = False
    config.save()
    patient = PatientFactory(birth_date=date(1990, 12, 1))
    consent(patient, kind="marketing")
    assert messaging_rules_run()["rule_greetings"] == 0


def test_a_template_with_an_unknown_variable_is_refused_with_its_name():
    template = MessageTemplate(
        kind=MessageKind.REMINDER,
        language="ru",
        body="Ждём вас {{ visit.date }}, {{ docter.name }}",
    )
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert "docter" in str(error.value)
    template.body = "Ждём вас {{ visit.date }}, {{ doctor.nmae }}"
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert "doctor.nmae" in str(error.value)
    template.body = "Ждём вас {{ visit.date }} {% if %}"
    with pytest.raises(ValidationError):
        template.full_clean()
    template.body = "Ждём вас {{ visit.date }} в {{ visit.time }}, {{ doctor.name }}"
    template.full_clean()


def test_a_service_recall_interval_brings_the_patient_back(
    clinic, morning, providers, time_machine
):
    clinic.service.recall_interval_days = 180
    clinic.service.save()
    visit = _completed_visit(clinic, morning, time_machine)
    visit.refresh_from_db()
    assert visit.recall_due_on == date(2026, 12, 1) + timedelta(days=180)
    time_machine.move_to(morning + timedelta(days=181), tick=False)
    rule_recalls()
    recall = Message.objects.get(kind=MessageKind.RECALL)
    assert recall.idempotency_key == f"recall:visit:{visit.pk}:20270530"
