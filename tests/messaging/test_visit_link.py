"""The reminder's signed link: the patient confirms, cancels (the slot goes to the
waitlist) or asks for another time (a booking request for the curator)."""

import re
from datetime import timedelta

import pytest

from clinic_crm.audit.models import AuditEvent
from clinic_crm.messaging.models import Message
from journeys.models import Task, Visit
from journeys.patient_links import visit_link_url
from journeys.services.visits import visit_move
from tests.messaging.conftest import book

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def visit(clinic, morning, providers):
    return book(clinic, starts_at=morning + timedelta(days=1, hours=1))


def test_the_reminder_carries_the_link(visit, providers):
    message = Message.objects.get(journey__visit=visit, channel="sms")
    url = re.search(r"https://crm\.example/p/visit/\S+", message.body).group(0)
    assert url == visit_link_url(visit=visit)


def test_patient_confirms_from_the_link(client, visit):
    path = _path(visit_link_url(visit=visit))
    page = client.get(path)
    assert page.status_code == 200
    assert 'data-testid="visit-confirm"' in page.content.decode()
    assert AuditEvent.objects.filter(patient_id=visit.patient_id, details__via="visit_link")
    client.post(path, {"action": "confirm"})
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CONFIRMED
    assert Message.objects.get(journey__visit=visit).status == "pending"  # still reminded


def test_patient_cancels_and_the_reminder_is_suppressed(client, visit):
    response = client.post(_path(visit_link_url(visit=visit)), {"action": "cancel"})
    assert 'data-testid="visit-answer-done"' in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED_BY_PATIENT
    assert Message.objects.get(journey__visit=visit).suppressed_reason == "visit_cancelled"


def test_patient_asks_for_another_time(client, visit):
    client.post(_path(visit_link_url(visit=visit)), {"action": "reschedule", "note": "after 6pm"})
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED_BY_PATIENT  # the slot is free at once
    task = Task.objects.get(kind=Task.Kind.BOOKING_REQUEST, patient=visit.patient)
    assert task.details == "after 6pm"


def test_a_link_from_before_a_move_does_not_act_on_the_new_time(client, clinic, visit, morning):
    old = _path(visit_link_url(visit=visit))
    visit_move(actor=clinic.admin, visit=visit, starts_at=morning + timedelta(days=1, hours=3))
    response = client.post(old, {"action": "cancel"})
    assert 'data-testid="visit-link-problem"' in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED


def test_tampered_link_and_unknown_action_are_refused(client, visit):
    path = _path(visit_link_url(visit=visit))
    assert client.get(path[:-4] + "abc/").status_code == 404
    assert client.post(path, {"action": "delete"}).status_code == 400
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED


def test_a_visit_that_already_started_cannot_be_changed(client, visit, time_machine):
    time_machine.move_to(visit.starts_at + timedelta(minutes=5), tick=False)
    response = client.post(_path(visit_link_url(visit=visit)), {"action": "cancel"})
    assert 'data-testid="visit-link-problem"' in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED


def test_an_expired_link_says_so(client, visit, time_machine, settings):
    path = _path(visit_link_url(visit=visit))
    time_machine.move_to(
        visit.starts_at - timedelta(hours=1) + timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS),
        tick=False,
    )
    response = client.post(path, {"action": "cancel"})
    assert response.status_code == 404
    assert 'data-testid="visit-link-problem"' in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED
