"""A patient's answer link takes one answer: the reminder's confirm / cancel / reschedule
link and the "how do you feel?" link. The first answer stands; a repeat (the same answer
or another, two taps at once included) records nothing and says what was answered and
when. What a patient types is refused (400, nothing written) when it holds characters
that can't be stored, and the forms show how long it may be."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from journeys.models import JourneyEvent, LinkAnswer, Task, Visit
from journeys.patient_links import feel_link_url, visit_link_url
from journeys.services import answers
from journeys.services.visits import visit_move
from tests.journeys.factories import VisitFactory, accepted_plan
from tests.messaging.conftest import book


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _feel_visit(clinic, language="en"):
    clinic.patient.preferred_language = language
    clinic.patient.save()
    _plan, stages = accepted_plan(clinic)
    return VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        status=Visit.Status.COMPLETED,
    )


def _upcoming_visit(clinic, morning, language="en"):
    clinic.patient.preferred_language = language
    clinic.patient.save()
    return book(clinic, starts_at=morning + timedelta(days=1, hours=1))


def _events(visit, kind):
    return JourneyEvent.objects.filter(visit=visit, kind=kind).count()


# --- One answer per link ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_feel_answer_records_nothing_and_says_already_answered(clinic, client):
    visit = _feel_visit(clinic)
    path = _path(feel_link_url(visit=visit))
    first = client.post(path, {"answer": "unwell", "comment": "The gum is swollen"})
    assert 'data-testid="feel-done"' in first.content.decode()
    second = client.post(path, {"answer": "well"})
    page = second.content.decode()
    assert second.status_code == 200
    assert 'data-testid="link-already-answered"' in page
    assert "You already answered on" in page
    assert "“Not well”" in page
    assert _events(visit, JourneyEvent.Kind.FEEDBACK) == 1
    assert Task.objects.filter(kind=Task.Kind.FEELS_UNWELL).count() == 1
    answer = LinkAnswer.objects.get()
    assert (answer.link, answer.answer) == ("feel", "unwell")
    # Opening the link again shows the answer, not the buttons.
    again = client.get(path).content.decode()
    assert 'data-testid="link-already-answered"' in again
    assert 'data-testid="feel-well"' not in again


@pytest.mark.django_db
def test_five_feel_answers_make_one_event_and_the_first_stands(clinic, client):
    visit = _feel_visit(clinic)
    path = _path(feel_link_url(visit=visit))
    for answer in ("well", "unwell", "well", "unwell", "unwell"):
        client.post(path, {"answer": answer})
    event = JourneyEvent.objects.get(visit=visit, kind=JourneyEvent.Kind.FEEDBACK)
    assert event.data["follow_up"] == "well"
    assert not Task.objects.filter(kind=Task.Kind.FEELS_UNWELL).exists()


@pytest.mark.django_db
def test_already_answered_is_said_in_the_patients_language(clinic, client, morning):
    visit = _feel_visit(clinic, language="ru")
    path = _path(feel_link_url(visit=visit))
    client.post(path, {"answer": "well"}, HTTP_ACCEPT_LANGUAGE="en")
    page = client.post(path, {"answer": "unwell"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Вы уже ответили" in page
    assert "«Хорошо»" in page
    assert "позвоните" in page


@pytest.mark.django_db
def test_a_second_visit_answer_changes_nothing_and_says_what_and_when(
    clinic, client, morning, time_machine
):
    visit = _upcoming_visit(clinic, morning)
    path = _path(visit_link_url(visit=visit))
    client.post(path, {"action": "confirm"})
    time_machine.move_to(morning + timedelta(minutes=5), tick=False)
    second = client.post(path, {"action": "cancel"})
    page = second.content.decode()
    assert 'data-testid="link-already-answered"' in page
    assert "“I will come”" in page
    assert "10:00" in page  # answered at 10:00 in the patient's zone (Moscow)
    assert 'data-testid="visit-cancel"' not in page
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CONFIRMED
    assert _events(visit, JourneyEvent.Kind.VISIT_STATUS) == 1


@pytest.mark.django_db
def test_asking_twice_for_another_time_opens_one_booking_request(clinic, client, morning):
    visit = _upcoming_visit(clinic, morning)
    path = _path(visit_link_url(visit=visit))
    client.post(path, {"action": "reschedule", "note": "after 6pm"})
    page = client.post(path, {"action": "reschedule", "note": "mornings"}).content.decode()
    assert 'data-testid="link-already-answered"' in page
    task = Task.objects.get(kind=Task.Kind.BOOKING_REQUEST)
    assert task.details == "after 6pm"
    assert LinkAnswer.objects.count() == 1


@pytest.mark.django_db
def test_the_reminder_of_a_moved_visit_is_a_new_link(clinic, client, morning):
    visit = _upcoming_visit(clinic, morning)
    client.post(_path(visit_link_url(visit=visit)), {"action": "confirm"})
    visit_move(actor=clinic.admin, visit=visit, starts_at=morning + timedelta(days=1, hours=3))
    visit.refresh_from_db()
    response = client.post(_path(visit_link_url(visit=visit)), {"action": "cancel"})
    assert 'data-testid="visit-answer-done"' in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED_BY_PATIENT


# --- Two answers at once ---------------------------------------------------------------


def _post_together(path: str, bodies: list[dict], monkeypatch) -> list:
    """POSTs ``bodies`` to ``path`` from parallel threads, each with its own database
    connection. Each request waits, inside its transaction, until every request has got
    that far, so all of them try to note their answer at the same moment."""
    from django.test import Client

    barrier = threading.Barrier(len(bodies), timeout=15)
    claim = answers._link_answer_claim

    def claim_together(**kwargs):
        barrier.wait()
        return claim(**kwargs)

    monkeypatch.setattr(answers, "_link_answer_claim", claim_together)
    results: list = [None] * len(bodies)

    def worker(index: int, body: dict) -> None:
        try:
            results[index] = Client().post(path, body)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=item) for item in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert all(getattr(r, "status_code", None) == 200 for r in results), results
    return [r.content.decode() for r in results]


@pytest.mark.django_db(transaction=True)
def test_two_feel_answers_at_once_record_exactly_one(clinic, monkeypatch):
    visit = _feel_visit(clinic)
    pages = _post_together(
        _path(feel_link_url(visit=visit)),
        [{"answer": "unwell", "comment": "first"}, {"answer": "unwell", "comment": "second"}],
        monkeypatch,
    )
    assert sum('data-testid="feel-done"' in page for page in pages) == 1
    assert sum('data-testid="link-already-answered"' in page for page in pages) == 1
    assert _events(visit, JourneyEvent.Kind.FEEDBACK) == 1
    assert Task.objects.filter(kind=Task.Kind.FEELS_UNWELL).count() == 1
    assert LinkAnswer.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_confirm_and_cancel_at_once_record_exactly_one(clinic, morning, monkeypatch):
    visit = _upcoming_visit(clinic, morning)
    pages = _post_together(
        _path(visit_link_url(visit=visit)),
        [{"action": "confirm"}, {"action": "cancel"}],
        monkeypatch,
    )
    assert sum('data-testid="visit-answer-done"' in page for page in pages) == 1
    assert sum('data-testid="link-already-answered"' in page for page in pages) == 1
    answer = LinkAnswer.objects.get()
    visit.refresh_from_db()
    expected = {"confirm": Visit.Status.CONFIRMED, "cancel": Visit.Status.CANCELLED_BY_PATIENT}
    assert visit.status == expected[answer.answer]
    assert _events(visit, JourneyEvent.Kind.VISIT_STATUS) == 1


# --- What patients type ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["\x00", "swollen\x00gum", "\x1b[2J", "\x7f", "a\x0bb"])
def test_control_characters_in_the_feel_comment_are_refused_and_nothing_is_written(
    clinic, client, bad
):
    visit = _feel_visit(clinic)
    response = client.post(_path(feel_link_url(visit=visit)), {"answer": "unwell", "comment": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="feel-comment-error"' in page
    assert "characters that can&#x27;t be saved" in page
    assert not LinkAnswer.objects.exists()
    assert _events(visit, JourneyEvent.Kind.FEEDBACK) == 0
    assert not Task.objects.exists()


@pytest.mark.django_db
def test_a_nul_in_the_visit_note_is_refused_in_the_patients_language(clinic, client, morning):
    visit = _upcoming_visit(clinic, morning, language="ru")
    response = client.post(
        _path(visit_link_url(visit=visit)),
        {"action": "reschedule", "note": "после 18\x00"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "нельзя сохранить" in response.content.decode()
    assert 'data-testid="visit-reschedule"' in response.content.decode()  # asks again
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED
    assert not Task.objects.filter(kind=Task.Kind.BOOKING_REQUEST).exists()
    assert not LinkAnswer.objects.exists()


@pytest.mark.django_db
def test_line_breaks_and_tabs_are_kept_and_long_text_is_cut(clinic, client):
    visit = _feel_visit(clinic)
    comment = "Line one\r\nline\ttwo " + "x" * 2000
    response = client.post(
        _path(feel_link_url(visit=visit)), {"answer": "unwell", "comment": comment}
    )
    assert response.status_code == 200
    task = Task.objects.get(kind=Task.Kind.FEELS_UNWELL)
    assert task.details.startswith("Line one\nline\ttwo x")
    assert len(task.details) == answers.FEEL_COMMENT_MAX_LENGTH


@pytest.mark.django_db
def test_the_forms_show_how_long_the_text_may_be(clinic, client, morning):
    feel = client.get(_path(feel_link_url(visit=_feel_visit(clinic)))).content.decode()
    assert 'maxlength="1000"' in feel
    assert "Up to 1000 characters." in feel
    visit = _upcoming_visit(clinic, morning)
    page = client.get(_path(visit_link_url(visit=visit))).content.decode()
    assert 'name="note"' in page
    assert 'maxlength="500"' in page
    assert "Up to 500 characters." in page
