"""Recording a survey response: validation with clear messages, the grouping copied from
the visit, reasons found in the comment, and the recovery task for a negative answer."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError

from feedback.models import AttributeAnswer, ReasonTag, Response
from feedback.reasons import complaint_reasons
from feedback.services import FeedbackError, survey_response_record
from journeys.models import JourneyEvent, Task, Visit
from tests.journeys.factories import StageFactory, TreatmentPlanFactory, VisitFactory

pytestmark = pytest.mark.django_db

# 22:30 UTC on 1 December is 01:30 on 2 December in Moscow: the clinic's day is the 2nd.
LATE_EVENING = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)


@pytest.fixture
def survey(visit_survey):
    """NPS, communication (importance 3) and waiting time (importance 2), and "why?"."""
    assert sorted(visit_survey.attributes.values_list("key", flat=True)) == [
        "communication",
        "waiting",
    ]
    return visit_survey


def completed_visit(clinic, *, starts_at=LATE_EVENING, **fields):
    return VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        status=Visit.Status.COMPLETED,
        **fields,
    )


def test_a_response_copies_in_what_it_is_grouped_by(clinic, survey):
    clinic.service.category = "Orthodontics: checks"
    clinic.service.save()
    visit = completed_visit(clinic)
    response = survey_response_record(
        survey=survey,
        visit=visit,
        channel="sms",
        nps_score=9,
        answers={"communication": 5, "waiting": 4},
        comment="Всё понятно объяснили",
    )
    response.refresh_from_db()
    assert response.day.isoformat() == "2026-12-02"  # the clinic's day, not UTC's
    assert (response.branch, response.doctor, response.specialty, response.service) == (
        clinic.branch,
        clinic.doctor,
        clinic.ortho,
        clinic.service,
    )
    assert response.service_category == "Orthodontics: checks"
    assert (response.stage, response.stage_kind) == (None, "none")
    assert response.negative is False
    assert response.recovery_task is None
    assert sorted(response.answers.values_list("attribute__key", "score")) == [
        ("communication", 5),
        ("waiting", 4),
    ]


def test_a_significant_stage_is_its_own_stage_kind(clinic, survey):
    plan = TreatmentPlanFactory(
        patient=clinic.patient, branch=clinic.branch, lead_doctor=clinic.doctor
    )
    stage = StageFactory(option__plan=plan, specialty=clinic.ortho, significant=True)
    response = survey_response_record(
        survey=survey, visit=completed_visit(clinic, stage=stage), channel="sms", nps_score=10
    )
    assert (response.stage, response.stage_kind) == (stage, "significant")


def test_a_detractor_opens_one_recovery_task_due_in_24_hours_for_the_curator(clinic, survey):
    plan = TreatmentPlanFactory(
        patient=clinic.patient,
        branch=clinic.branch,
        lead_doctor=clinic.doctor,
        curator=clinic.curator,
    )
    stage = StageFactory(option__plan=plan, specialty=clinic.ortho)
    visit = completed_visit(clinic, stage=stage)
    answered = LATE_EVENING + timedelta(hours=20)
    response = survey_response_record(
        survey=survey,
        visit=visit,
        channel="sms",
        nps_score=4,
        comment="Ждал сорок минут",
        submitted_at=answered,
    )
    assert response.negative is True
    task = response.recovery_task
    assert task.kind == Task.Kind.NEGATIVE_FEEDBACK
    assert task.assignee == clinic.curator
    assert task.due_at == answered + timedelta(hours=24)
    assert task.details == "Ждал сорок минут"
    event = JourneyEvent.objects.get(patient=clinic.patient, kind=JourneyEvent.Kind.FEEDBACK)
    assert event.data["nps"] == 4
    assert event.visit == visit


def test_a_low_aspect_is_negative_even_with_a_good_score(clinic, survey):
    response = survey_response_record(
        survey=survey,
        visit=completed_visit(clinic),
        channel="kiosk",
        nps_score=8,
        answers={"waiting": 2},
    )
    assert response.negative is True
    assert response.recovery_task.kind == Task.Kind.NEGATIVE_FEEDBACK


def test_passives_and_promoters_open_nothing(clinic, survey):
    for score in (7, 10):
        visit = completed_visit(clinic, starts_at=LATE_EVENING - timedelta(days=score))
        survey_response_record(survey=survey, visit=visit, channel="sms", nps_score=score)
    assert not Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK).exists()


def test_the_clinics_active_reasons_are_found_in_the_comment_and_kept_as_the_taggers(
    clinic, survey
):
    ReasonTag.objects.filter(key="price").update(is_active=False)
    response = survey_response_record(
        survey=survey,
        visit=completed_visit(clinic),
        channel="sms",
        nps_score=5,
        comment="Долго ждала в очереди, и дорого",
    )
    assert list(response.reasons.values_list("key", flat=True)) == ["waiting"]
    response.refresh_from_db()
    assert response.tagged_reasons == ["waiting"]  # an inactive reason is not looked for


def test_a_negated_complaint_tags_nothing(clinic, survey):
    response = survey_response_record(
        survey=survey,
        visit=completed_visit(clinic),
        channel="sms",
        nps_score=9,
        comment="Ждать не пришлось, спасибо",
    )
    assert not response.reasons.exists()
    response.refresh_from_db()
    assert response.tagged_reasons == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nps_score": 11}, "from 0 to 10"),
        ({"nps_score": "7.5"}, "from 0 to 10"),
        ({"nps_score": -1}, "from 0 to 10"),
        ({"nps_score": True}, "from 0 to 10"),
        ({"answers": {"waiting": 6}}, "from 1 to 5"),
        ({"answers": {"waiting": 0}}, "from 1 to 5"),
        ({"answers": {"parking": 3}}, "“parking” is not a question of this survey"),
        ({}, "Answer at least one question"),
        ({"nps_score": 9, "comment": "x" * 2001}, "under 2000 characters"),
    ],
)
def test_bad_answers_are_refused_with_a_clear_message_and_nothing_is_written(
    clinic, survey, fields, message
):
    with pytest.raises(FeedbackError, match=message):
        survey_response_record(
            survey=survey, visit=completed_visit(clinic), channel="sms", **fields
        )
    assert not Response.objects.exists()
    assert not AttributeAnswer.objects.exists()
    assert not Task.objects.exists()


def test_a_visit_that_did_not_take_place_cannot_be_rated(clinic, survey):
    visit = completed_visit(clinic)
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.NO_SHOW)
    visit.refresh_from_db()
    with pytest.raises(FeedbackError, match="took place"):
        survey_response_record(survey=survey, visit=visit, channel="sms", nps_score=3)


def test_the_same_visit_is_answered_once(clinic, survey):
    visit = completed_visit(clinic)
    survey_response_record(survey=survey, visit=visit, channel="sms", nps_score=3)
    with pytest.raises(FeedbackError, match="already been answered"):
        survey_response_record(survey=survey, visit=visit, channel="sms", nps_score=10)
    assert Response.objects.get().nps_score == 3
    assert Task.objects.count() == 1


def test_the_database_refuses_scores_out_of_range(clinic, survey):
    response = survey_response_record(
        survey=survey, visit=completed_visit(clinic), channel="sms", nps_score=9
    )
    with pytest.raises(IntegrityError):
        Response.objects.filter(pk=response.pk).update(nps_score=12)


def test_the_starting_reasons_find_common_complaints_in_russian_and_english(visit_survey):
    assert complaint_reasons("долго ждала в очереди") == ["waiting"]
    assert complaint_reasons("ждать не пришлось") == []
    assert complaint_reasons("Очень долго ждала, и цена выросла") == ["waiting", "price"]
    assert complaint_reasons("The doctor was rude and it hurt") == ["rudeness", "pain"]
    assert complaint_reasons("Неожиданно хорошо") == []
