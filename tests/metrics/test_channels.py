"""Scores and the survey funnel by channel, from the daily channel rollup: the mix of
answers, each channel's NPS, and invited → delivered → opened → answered with the response
rate; kept current by the triggers (an opened link queues its doctor-day)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.answers import survey_answer_record
from feedback.models import SurveyInvitation
from feedback.services import survey_response_record
from metrics.rollups import rollups_rebuild, rollups_refresh
from metrics.selectors.channels import channel_figures
from metrics.selectors.filters import Filters
from tests.conftest import client_for
from tests.factories import PatientFactory
from tests.feedback.factories import MORNING, complete, completed_visit

pytestmark = pytest.mark.django_db


def sent(invitation, channel, *, delivered=False):
    message = invitation.message
    message.status = "sent"
    message.channel = channel
    message.sent_at = MORNING + timedelta(hours=2)
    message.delivery = "delivered" if delivered else ""
    message.save()


@pytest.fixture
def answers(clinic, visit_survey, time_machine):
    time_machine.move_to(MORNING, tick=False)
    invitations = []
    for n in range(4):
        patient = PatientFactory(home_branch=clinic.branch)
        visit = complete(clinic, patient=patient, minutes_ago=60 + 40 * n)
        invitations.append(SurveyInvitation.objects.get(visit=visit))
    sent(invitations[0], "sms", delivered=True)
    sent(invitations[1], "sms", delivered=True)
    sent(invitations[2], "email")
    sent(invitations[3], "email")
    time_machine.move_to(MORNING + timedelta(hours=3), tick=False)
    SurveyInvitation.objects.filter(pk__in=[i.pk for i in invitations[:3]]).update(
        opened_at=timezone.now()
    )
    survey_answer_record(invitation=invitations[0], nps_score=10, require=("nps",))
    survey_answer_record(invitation=invitations[1], nps_score=3, require=("nps",))
    survey_answer_record(invitation=invitations[2], nps_score=9, require=("nps",))
    survey_response_record(
        survey=visit_survey,
        visit=completed_visit(clinic, starts_at=MORNING - timedelta(hours=5)),
        channel="kiosk",
        nps_score=6,
    )
    return invitations


def test_the_channel_mix_scores_and_funnel(clinic, answers):
    rollups_rebuild()
    day = MORNING.date()
    figures = channel_figures(Filters(start=day - timedelta(days=1), end=day))
    rows = {row.key: row for row in figures.channels}
    assert figures.answers == 4
    assert (rows["sms"].invited, rows["sms"].delivered, rows["sms"].opened) == (2, 2, 2)
    assert (rows["sms"].answered, rows["sms"].nps.value) == (2, 0.0)
    assert rows["sms"].response_rate.value == 100.0
    assert (rows["email"].invited, rows["email"].opened, rows["email"].answered) == (2, 1, 1)
    assert rows["email"].response_rate.value == 50.0
    assert rows["email"].response_rate.low < 50 < rows["email"].response_rate.high
    assert rows["kiosk"].invited == 0
    assert rows["kiosk"].nps.value == -100.0
    assert rows["kiosk"].response_rate.empty
    assert rows["sms"].share == 50.0
    (visit_survey_row,) = figures.surveys
    assert (visit_survey_row.invited, visit_survey_row.answered) == (4, 3)


def test_an_opened_link_is_counted_by_the_next_refresh(clinic, answers, time_machine):
    rollups_rebuild()
    SurveyInvitation.objects.filter(pk=answers[3].pk).update(opened_at=timezone.now())
    rollups_refresh()
    day = MORNING.date()
    rows = {r.key: r for r in channel_figures(Filters(start=day, end=day)).channels}
    assert rows["email"].opened == 2


def test_the_dashboard_shows_the_channels(clinic, answers):
    rollups_rebuild()
    page = client_for(clinic.manager, "en").get(
        "/metrics/dashboard/",
        {"start": (MORNING.date() - timedelta(days=1)).isoformat(), "end": MORNING.date()},
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="channel-sms"' in text
    assert 'data-testid="funnel-visit"' in text
