"""The patient's survey page behind the short link: a GET writes nothing (a link-preview
bot records nothing), each answer is saved as it is given, double taps count once, bad
input is refused per field, and used, expired, forged or mangled links get a clear page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from clinic_crm.audit.models import AuditEvent
from feedback.links import survey_token
from feedback.models import AttributeAnswer, Response, SurveyInvitation
from journeys.models import Task
from tests.feedback.factories import MORNING, complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(clinic, visit_survey, time_machine):
    time_machine.move_to(MORNING, tick=False)
    clinic.patient.first_name = "Анна"
    clinic.patient.save()
    visit = complete(clinic)
    time_machine.move_to(MORNING + timedelta(hours=3), tick=False)
    return SurveyInvitation.objects.get(visit=visit)


def url(invitation, **query):
    path = reverse("feedback:survey", args=[survey_token(invitation.key)])
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def test_the_page_greets_by_first_name_and_asks_the_nps_question(client, invitation):
    page = client.get(url(invitation))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Анна" in text
    assert invitation.patient.last_name not in text
    assert "порекомендуете" in text.lower() or "рекомендовать" in text.lower()
    assert page["Cache-Control"] == "no-store"


def test_a_get_records_nothing_not_even_opened(client, invitation):
    before = AuditEvent.objects.count()
    for _ in range(3):
        client.get(url(invitation))
        client.get(url(invitation, nps=3))  # the email's one-tap link, fetched by a bot
    invitation.refresh_from_db()
    assert (invitation.opened_at, invitation.answered_at, invitation.response) == (
        None,
        None,
        None,
    )
    assert not Response.objects.exists()
    assert AuditEvent.objects.count() == before


def test_the_page_script_reports_opened_once(client, invitation):
    opened = reverse("feedback:survey_opened", args=[survey_token(invitation.key)])
    assert client.post(opened).status_code == 204
    invitation.refresh_from_db()
    first = invitation.opened_at
    assert first is not None
    client.post(opened)
    invitation.refresh_from_db()
    assert invitation.opened_at == first


def test_the_first_answer_is_saved_at_once_and_counts_alone(client, invitation):
    answered = client.post(url(invitation), {"step": "nps", "nps_score": "9", "lang": "ru"})
    assert answered.status_code == 303
    response = Response.objects.get()
    assert (response.nps_score, response.visit_id, response.negative) == (
        9,
        invitation.visit_id,
        False,
    )
    invitation.refresh_from_db()
    assert invitation.response == response
    assert invitation.finished_at is None
    # The next question: the aspects and "why?".
    page = client.get(answered["Location"])
    assert 'name="attribute_communication"' in page.content.decode()


def test_a_double_tap_keeps_one_answer_the_first(client, invitation):
    client.post(url(invitation), {"step": "nps", "nps_score": "9"})
    client.post(url(invitation), {"step": "nps", "nps_score": "2"})
    assert list(Response.objects.values_list("nps_score", flat=True)) == [9]
    assert not Task.objects.exists()


def test_finishing_thanks_and_closes_the_link(client, invitation):
    client.post(url(invitation), {"step": "nps", "nps_score": "10"})
    done = client.post(
        url(invitation),
        {
            "step": "details",
            "attribute_communication": "5",
            "attribute_waiting": "4",
            "comment": "Всё отлично",
        },
    )
    assert done.status_code == 200
    assert 'data-testid="survey-thanks"' in done.content.decode()
    response = Response.objects.get()
    assert sorted(response.answers.values_list("attribute__key", "score")) == [
        ("communication", 5),
        ("waiting", 4),
    ]
    assert response.comment == "Всё отлично"
    again = client.get(url(invitation))
    assert 'data-testid="survey-answered"' in again.content.decode()
    resubmit = client.post(url(invitation), {"step": "nps", "nps_score": "0"})
    assert 'data-testid="survey-answered"' in resubmit.content.decode()
    assert Response.objects.get().nps_score == 10


def test_a_negative_answer_says_someone_will_call_and_opens_one_task(client, invitation):
    client.post(url(invitation), {"step": "nps", "nps_score": "3"})
    assert Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK).count() == 1
    done = client.post(
        url(invitation),
        {"step": "details", "attribute_communication": "1", "attribute_waiting": "2"},
    )
    assert 'data-testid="survey-thanks-negative"' in done.content.decode()
    assert Task.objects.filter(kind=Task.Kind.NEGATIVE_FEEDBACK).count() == 1


def test_an_aspect_rated_low_after_a_good_score_still_opens_the_recovery_call(client, invitation):
    client.post(url(invitation), {"step": "nps", "nps_score": "9"})
    assert not Task.objects.exists()
    client.post(
        url(invitation),
        {"step": "details", "attribute_communication": "1", "attribute_waiting": "5"},
    )
    response = Response.objects.get()
    assert response.negative
    assert response.recovery_task is not None


@pytest.mark.parametrize("score", ["11", "-1", "abc", "7.5", "", "1e1"])
def test_out_of_range_or_missing_scores_are_refused_with_a_message(client, invitation, score):
    refused = client.post(url(invitation), {"step": "nps", "nps_score": score})
    assert refused.status_code == 400
    assert 'data-testid="error-nps_score"' in refused.content.decode()
    assert not Response.objects.exists()


def test_missing_aspects_are_refused_per_field_and_nothing_is_added(client, invitation):
    client.post(url(invitation), {"step": "nps", "nps_score": "8"})
    refused = client.post(
        url(invitation), {"step": "details", "attribute_communication": "9", "comment": "ok"}
    )
    assert refused.status_code == 400
    text = refused.content.decode()
    assert 'data-testid="error-attribute_communication"' in text
    assert 'data-testid="error-attribute_waiting"' in text
    assert not AttributeAnswer.objects.exists()
    assert Response.objects.get().comment == ""
    invitation.refresh_from_db()
    assert invitation.finished_at is None


def test_a_hostile_comment_is_stored_as_text_and_shown_escaped(client, invitation):
    client.post(url(invitation), {"step": "nps", "nps_score": "8"})
    refused = client.post(
        url(invitation),
        {
            "step": "details",
            "attribute_communication": "4",
            "comment": "<script>alert(1)</script>" + "x" * 100_000,
        },
    )
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text
    client.post(
        url(invitation),
        {
            "step": "details",
            "attribute_communication": "4",
            "attribute_waiting": "4",
            "comment": "<b>bold</b>",
        },
    )
    assert Response.objects.get().comment == "<b>bold</b>"


def test_expired_forged_and_mangled_links_get_a_clear_page(client, invitation, time_machine):
    token = survey_token(invitation.key)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, token[:-2], "x" * 200, "<script>"):
        page = client.get(f"/s/{bad}")
        assert page.status_code == 404, bad
        assert 'data-testid="survey-invalid"' in page.content.decode()
        assert client.post(f"/s/{bad}", {"step": "nps", "nps_score": "5"}).status_code == 404
    time_machine.move_to(invitation.expires_at + timedelta(seconds=1), tick=False)
    page = client.get(url(invitation))
    assert page.status_code == 410
    assert 'data-testid="survey-expired"' in page.content.decode()
    assert client.post(url(invitation), {"step": "nps", "nps_score": "5"}).status_code == 410
    assert not Response.objects.exists()


def test_a_genuine_token_of_an_unknown_invitation_is_refused(client, invitation):
    page = client.get(reverse("feedback:survey", args=[survey_token("Zz9Zz9Z")]))
    assert page.status_code == 404


def test_the_language_follows_the_patient_with_a_switch(client, invitation):
    assert "Русский" not in client.get(url(invitation)).content.decode()  # offers English
    english = client.get(url(invitation, lang="en")).content.decode()
    assert "How likely are you to recommend" in english
    assert "?lang=ru" in english
    invitation.patient.preferred_language = "en"
    invitation.patient.save()
    assert "How likely are you to recommend" in client.get(url(invitation)).content.decode()


def test_each_answer_is_audited_with_the_patient(client, invitation):
    client.post(url(invitation), {"step": "nps", "nps_score": "8"})
    event = AuditEvent.objects.filter(patient_id=invitation.patient_id).latest("id")
    assert event.details["via"] == "survey_link"


def test_answers_arrive_from_the_channel_the_invitation_went_out_on(client, invitation):
    invitation.message.sent_at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    invitation.message.channel = "sms"
    invitation.message.save()
    client.post(url(invitation), {"step": "nps", "nps_score": "8"})
    assert Response.objects.get().channel == "sms"
