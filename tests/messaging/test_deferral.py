"""Deferral: a message whose kind's guard asks for it waits until the weekly cap allows
it instead of being suppressed (unless that is too late), every wait says why on the
outbox page, and survey invitations count against the cap like other non-urgent
messages."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic_crm.messaging.models import (
    Message,
    MessageKind,
    MessageOptOut,
    MessageTemplate,
    MessagingSettings,
)
from clinic_crm.messaging.services import guards
from clinic_crm.messaging.services.dispatch import messages_dispatch
from clinic_crm.messaging.services.guards import Timeliness
from clinic_crm.messaging.services.outbox import message_plan
from tests.conftest import client_for
from tests.factories import PatientFactory
from tests.messaging.conftest import consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey_guard():
    """The guard of survey invitations, for the test only (the feedback layer's own is
    put back after): it answers what the test sets in ``answer`` (by default: defer;
    None: every invitation is timely)."""
    answer: dict[str, Timeliness | None] = {"timeliness": Timeliness(defer=True)}

    def guard(messages, config):
        timeliness = answer["timeliness"]
        return {} if timeliness is None else {m.pk: timeliness for m in messages}

    previous = guards._kind_guards.get(MessageKind.SURVEY)
    guards.kind_guard_register(MessageKind.SURVEY, guard)
    yield answer
    if previous is None:
        guards._kind_guards.pop(MessageKind.SURVEY, None)
    else:
        guards._kind_guards[MessageKind.SURVEY] = previous


def _sent_earlier(patient, *ages_in_days, now):
    """Non-urgent messages the patient got ``ages_in_days`` ago (they count against the
    weekly cap)."""
    for age in ages_in_days:
        message = message_plan(
            patient=patient,
            kind=MessageKind.RECALL,
            key=f"recall:{patient.pk}:{age}",
            scheduled_for=now - timedelta(days=age),
        )
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.SENT, sent_at=now - timedelta(days=age)
        )


def _survey(patient, now, key="survey:1"):
    return message_plan(patient=patient, kind=MessageKind.SURVEY, key=key, scheduled_for=now)


@pytest.mark.parametrize(
    ("ages", "frees_in_days"),
    [
        ((6, 2), 1),  # two sent, cap 2: free once the oldest turns a week old
        ((6, 5, 1), 2),  # three sent (cap lowered since): the second oldest decides
    ],
)
def test_a_capped_survey_waits_until_the_cap_frees_then_goes_out(
    clinic, morning, providers, time_machine, survey_guard, ages, frees_in_days
):
    consent(clinic.patient)
    _sent_earlier(clinic.patient, *ages, now=morning)
    survey = _survey(clinic.patient, morning)

    stats, _more = messages_dispatch()

    survey.refresh_from_db()
    assert (stats.waiting, stats.suppressed) == (1, 0)
    assert (survey.status, survey.waiting_reason) == ("pending", "weekly_cap")
    assert survey.due_at == morning + timedelta(days=frees_in_days)
    assert survey.attempts == 0  # waiting is not an attempt
    assert providers.accepted == []

    time_machine.move_to(survey.due_at, tick=False)
    messages_dispatch()
    survey.refresh_from_db()
    assert (survey.status, survey.waiting_reason) == ("sent", "")
    assert len(providers.accepted) == 1


def test_a_deferral_that_would_come_after_latest_useful_suppresses_it(
    clinic, morning, providers, survey_guard
):
    consent(clinic.patient)
    _sent_earlier(clinic.patient, 6, 2, now=morning)  # the cap frees tomorrow morning
    survey_guard["timeliness"] = Timeliness(defer=True, latest_useful=morning + timedelta(hours=12))
    survey = _survey(clinic.patient, morning)

    messages_dispatch()

    survey.refresh_from_db()
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "weekly_cap")
    assert survey.waiting_reason == ""


@pytest.mark.parametrize("registered", [False, True])
def test_without_defer_a_capped_message_is_suppressed_as_before(
    clinic, morning, providers, survey_guard, registered
):
    """Whether the kind has no guard or its guard does not ask to defer."""
    if registered:
        survey_guard["timeliness"] = Timeliness(latest_useful=morning + timedelta(days=30))
    else:
        guards._kind_guards.pop(MessageKind.SURVEY)
    consent(clinic.patient)
    _sent_earlier(clinic.patient, 6, 2, now=morning)
    survey = _survey(clinic.patient, morning)

    messages_dispatch()

    survey.refresh_from_db()
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "weekly_cap")


def test_quiet_hours_wait_says_so_and_the_reason_clears_when_it_goes(
    clinic, morning, providers, time_machine
):
    consent(clinic.patient)
    late = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)  # 22:30 in Moscow
    time_machine.move_to(late, tick=False)
    message = message_plan(
        patient=clinic.patient, kind=MessageKind.FOLLOW_UP, key="follow_up:q", scheduled_for=late
    )

    messages_dispatch()

    message.refresh_from_db()
    assert (message.status, message.waiting_reason) == ("pending", "quiet_hours")
    assert message.due_at == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    time_machine.move_to(message.due_at, tick=False)
    messages_dispatch()
    message.refresh_from_db()
    assert (message.status, message.waiting_reason) == ("sent", "")


def test_the_outbox_page_says_why_a_message_waits(
    clinic, morning, providers, time_machine, survey_guard
):
    consent(clinic.patient)
    _sent_earlier(clinic.patient, 6, 2, now=morning)
    capped = _survey(clinic.patient, morning)
    quiet_patient = PatientFactory(home_branch=clinic.branch, time_zone="Asia/Vladivostok")
    consent(quiet_patient)  # 10:00 in Moscow is 17:00 there; at 15:00 Moscow it is 22:00
    time_machine.move_to(morning + timedelta(hours=5), tick=False)
    quiet = message_plan(
        patient=quiet_patient, kind=MessageKind.FOLLOW_UP, key="f:quiet", scheduled_for=morning
    )
    messages_dispatch()

    html = client_for(clinic.manager, "en").get("/messages/").content.decode()
    rows = {
        m.pk: m.waiting_reason
        for m in Message.objects.filter(pk__in=[capped.pk, quiet.pk]).only("waiting_reason")
    }
    assert rows == {capped.pk: "weekly_cap", quiet.pk: "quiet_hours"}
    assert "waiting: the weekly limit of non-urgent messages" in html
    assert "waiting: the patient&#x27;s quiet hours" in html
    russian = client_for(clinic.manager, "ru").get("/messages/").content.decode()
    assert "ждёт: недельный лимит несрочных сообщений" in russian


def test_surveys_count_against_the_weekly_cap(clinic, morning, providers, survey_guard):
    survey_guard["timeliness"] = None
    consent(clinic.patient)
    surveys = [_survey(clinic.patient, morning, key=f"survey:{n}") for n in range(3)]
    messages_dispatch()
    outcomes = sorted(
        Message.objects.filter(pk__in=[m.pk for m in surveys]).values_list(
            "status", "suppressed_reason"
        )
    )
    assert outcomes == [("sent", ""), ("sent", ""), ("suppressed", "weekly_cap")]  # cap 2


def test_surveys_carry_the_optout_link_and_respect_the_optout(
    clinic, morning, providers, survey_guard
):
    survey_guard["timeliness"] = None
    MessageTemplate.objects.create(
        kind=MessageKind.SURVEY,
        language="ru",
        body="{{ patient.greeting_name }}, оцените визит.\nОтписаться: {{ optout_url }}",
    )
    consent(clinic.patient)
    survey = _survey(clinic.patient, morning)
    assert "/p/optout/" in survey.body

    MessageOptOut.objects.create(patient=clinic.patient, kind=MessageKind.SURVEY)
    messages_dispatch()
    survey.refresh_from_db()
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "opted_out")


def test_a_batch_of_deferrals_costs_the_same_queries_whatever_its_size(
    clinic, morning, providers, settings, survey_guard
):
    settings.MESSAGING_SEND_CONCURRENCY = 50
    MessagingSettings.current()  # read once, then cached for a while
    counts = []
    for size in (3, 12):
        patients = PatientFactory.create_batch(size, home_branch=clinic.branch)
        for patient in patients:
            consent(patient)
            _sent_earlier(patient, 6, 2, now=morning)
            _survey(patient, morning, key=f"survey:{patient.pk}")
        with CaptureQueriesContext(connection) as captured:
            stats, _more = messages_dispatch()
        assert stats.waiting == size
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
