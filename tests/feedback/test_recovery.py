"""The closed loop after a negative answer: the curator sees what the patient said, the
call's result is recorded (unreachable only after three attempts), an overdue call is
escalated once to the branch's managers (home page and email), a patient reached is asked
again 14 days later, and that answer — not the call — is the recovered share."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from clinic_crm.staff.roles import Role
from feedback.answers import survey_answer_record
from feedback.links import survey_token
from feedback.models import Response, Survey, SurveyInvitation
from feedback.recovery import recovery_escalate
from journeys.errors import JourneyError
from journeys.models import Task
from journeys.services.worklist import task_attempt_record, task_close
from metrics.selectors.filters import Filters
from metrics.selectors.recovery import recovered_by_resurvey
from tests.conftest import client_for
from tests.factories import BranchFactory
from tests.feedback.factories import MORNING, complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def negative(clinic, visit_survey, time_machine, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_machine.move_to(MORNING, tick=False)
    visit = complete(clinic)
    invitation = SurveyInvitation.objects.get(visit=visit)
    time_machine.move_to(MORNING + timedelta(hours=3), tick=False)
    survey_answer_record(invitation=invitation, nps_score=3, require=("nps",))
    survey_answer_record(
        invitation=invitation,
        answers={"communication": 1, "waiting": 2},
        comment="Никто ничего не объяснил",
        finish=True,
    )
    return Response.objects.select_related("recovery_task").get()


def test_the_curator_sees_the_scores_and_the_comment_on_the_task(negative):
    details = negative.recovery_task.details
    assert "3" in details
    assert "Никто ничего не объяснил" in details
    assert "1/5" in details
    assert "2/5" in details


def test_a_recovery_call_needs_its_result(clinic, negative):
    with pytest.raises(JourneyError, match="how the call ended"):
        task_close(actor=clinic.curator, task=negative.recovery_task, outcome="talked")
    assert Task.objects.get(pk=negative.recovery_task_id).state == "open"


def test_unreachable_only_after_three_attempts(clinic, negative):
    task = negative.recovery_task
    with pytest.raises(JourneyError, match="at least 3 times"):
        task_close(actor=clinic.curator, task=task, outcome="", result="unreachable")
    for _ in range(3):
        task_attempt_record(actor=clinic.curator, task=task, note="no answer")
    closed = task_close(actor=clinic.curator, task=task, outcome="", result="unreachable")
    assert (closed.state, closed.result) == ("done", "unreachable")
    assert not SurveyInvitation.objects.filter(survey__kind="recovery").exists()


def test_a_patient_reached_is_asked_again_after_14_days_and_that_answer_is_the_recovery(
    clinic, negative, client, time_machine
):
    task_close(
        actor=clinic.curator,
        task=negative.recovery_task,
        outcome="apologised, rebooked",
        result="reached_solved",
    )
    again = SurveyInvitation.objects.select_related("message").get(survey__kind="recovery")
    assert again.recovers == negative
    assert again.message.kind == "survey"
    closed_at = Task.objects.get(pk=negative.recovery_task_id).closed_at
    assert again.message.scheduled_for == closed_at + timedelta(days=14)
    filters = Filters(start=negative.day - timedelta(days=1), end=negative.day)
    assert recovered_by_resurvey(filters).empty

    time_machine.move_to(again.message.scheduled_for + timedelta(hours=1), tick=False)
    link = reverse("feedback:survey", args=[survey_token(again.key)])
    page = client.get(link).content.decode()
    assert "Как вы теперь относитесь к нашей клинике?" in page
    done = client.post(link, {"step": "nps", "nps_score": "8"})
    assert 'data-testid="survey-thanks"' in done.content.decode()
    negative.refresh_from_db()
    assert negative.resurvey_score == 8
    assert Response.objects.count() == 1  # never an answer of its own: not in the NPS
    figure = recovered_by_resurvey(filters)
    assert (figure.value, figure.n) == (100.0, 1)
    client.post(link, {"step": "nps", "nps_score": "0"})
    negative.refresh_from_db()
    assert negative.resurvey_score == 8


def test_a_patient_who_refused_to_talk_is_not_asked_again(clinic, negative):
    task_close(actor=clinic.curator, task=negative.recovery_task, outcome="", result="refused")
    assert not SurveyInvitation.objects.filter(survey__kind="recovery").exists()


def test_an_overdue_call_is_escalated_once_to_the_branchs_managers(
    clinic, negative, make_staff, time_machine, django_capture_on_commit_callbacks
):
    other_branch_manager = make_staff(Role.MANAGER, branch=BranchFactory(name="North"))
    assert recovery_escalate() == 0  # not due yet
    time_machine.move_to(negative.recovery_task.due_at + timedelta(minutes=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery_escalate() == 1
        assert recovery_escalate() == 0
    negative.refresh_from_db()
    assert negative.escalated_at is not None
    recipients = {address for message in mail.outbox for address in message.to}
    assert clinic.manager.email in recipients
    assert other_branch_manager.email not in recipients
    body = mail.outbox[0].body
    assert negative.patient.last_name not in body  # the email names no patient
    assert "/" in body


def test_the_managers_home_lists_escalated_calls_and_marks_those_out_of_sla(
    clinic, negative, time_machine
):
    time_machine.move_to(negative.recovery_task.due_at + timedelta(minutes=1), tick=False)
    recovery_escalate()
    home = client_for(clinic.manager, "en").get("/").content.decode()
    assert 'data-testid="escalation"' in home
    assert negative.patient.full_name in home
    assert 'data-testid="out-of-sla"' not in home
    time_machine.move_to(negative.submitted_at + timedelta(hours=49), tick=False)
    home = client_for(clinic.manager, "en").get("/").content.decode()
    assert 'data-testid="out-of-sla"' in home
    task_close(actor=clinic.curator, task=negative.recovery_task, outcome="", result="refused")
    home = client_for(clinic.manager, "en").get("/").content.decode()
    assert 'data-testid="escalation"' not in home


def test_the_recovery_survey_exists_for_a_new_clinic(visit_survey):
    """What the data migration (0007) and a new clinic's defaults write."""
    assert Survey.objects.filter(kind="recovery", is_active=True).exists()
