"""Staff see messages on the patient's timeline and in the managers' outbox (filters,
daily counts, retry); patients opt out by a signed link; providers report delivery."""

from datetime import timedelta

import pytest

from clinic_crm.audit.models import AuditEvent
from clinic_crm.messaging.links import optout_url
from clinic_crm.messaging.models import Message, MessageKind, MessageOptOut
from clinic_crm.messaging.services.dispatch import messages_dispatch
from clinic_crm.messaging.services.outbox import message_plan
from tests.conftest import password_only_client_for, verified_client_for
from tests.factories import PatientFactory
from tests.messaging.conftest import consent

pytestmark = pytest.mark.django_db


def _messages(clinic, morning, n=3, kind=MessageKind.FOLLOW_UP):
    made = []
    for _ in range(n):
        patient = PatientFactory(home_branch=clinic.branch)
        consent(patient)
        made.append(
            message_plan(
                patient=patient, kind=kind, key=f"v:{kind}:{patient.pk}", scheduled_for=morning
            )
        )
    return made


def test_outbox_is_for_managers_with_both_factors(clinic, morning, providers):
    assert verified_client_for(clinic.manager).get("/messages/").status_code == 200
    for user in (clinic.admin, clinic.doctor, clinic.curator):
        assert verified_client_for(user).get("/messages/").status_code == 403
    response = password_only_client_for(clinic.manager).get("/messages/")
    assert response.status_code == 302


def test_outbox_lists_filters_and_counts_per_day(clinic, morning, providers):
    _messages(clinic, morning, n=3)
    providers.mode = "error_json"
    providers.configure(error_code=8)
    failing = _messages(clinic, morning, n=1, kind=MessageKind.RECALL)[0]
    messages_dispatch()  # all four fail for good: SMS only, SMSC says undeliverable
    manager = verified_client_for(clinic.manager)
    response = manager.get("/messages/", {"kind": "recall"})
    rows = response.context["messages_page"]
    assert [m.pk for m in rows] == [failing.pk]
    html = response.content.decode()
    assert "SMSC error 8" in html
    [today] = response.context["counts"]
    assert (today["failed"], today["sent"]) == (1, 0)  # counts follow the kind filter
    [today] = manager.get("/messages/").context["counts"]
    assert (today["failed"], today["sent"]) == (4, 0)
    assert AuditEvent.objects.filter(details__page="outbox").exists()


def test_outbox_refuses_a_backwards_period_with_a_message(clinic, morning, providers):
    manager = verified_client_for(clinic.manager)
    response = manager.get("/messages/", {"date_from": "2026-12-05", "date_to": "2026-12-01"})
    assert response.status_code == 200
    assert "outbox-form-errors" in response.content.decode()
    assert response.context["messages_page"] == []


def test_outbox_query_count_does_not_grow(
    clinic, morning, providers, django_assert_max_num_queries
):
    manager = verified_client_for(clinic.manager)
    _messages(clinic, morning, n=2)
    manager.get("/messages/")
    _messages(clinic, morning, n=30)
    with django_assert_max_num_queries(12):
        response = manager.get("/messages/")
    assert len(response.context["messages_page"]) == 32


def test_retry_puts_a_failed_message_back(clinic, morning, providers):
    providers.mode = "fail500"
    [message] = _messages(clinic, morning, n=1)
    Message.objects.filter(pk=message.pk).update(status="failed", last_error="sms: boom")
    manager = verified_client_for(clinic.manager)
    assert (
        verified_client_for(clinic.admin).post(f"/messages/{message.pk}/retry/").status_code == 403
    )
    response = manager.post(f"/messages/{message.pk}/retry/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "pending"
    assert 'data-status="pending"' in response.content.decode()
    providers.mode = "ok"
    messages_dispatch()
    message.refresh_from_db()
    assert message.status == "sent"


def test_timeline_shows_the_patients_messages(clinic, morning, providers):
    consent(clinic.patient)
    message_plan(
        patient=clinic.patient, kind=MessageKind.FOLLOW_UP, key="t:1", scheduled_for=morning
    )
    messages_dispatch()
    response = verified_client_for(clinic.doctor).get(f"/patients/{clinic.patient.pk}/timeline/")
    assert response.status_code == 200
    [shown] = response.context["t"].messages
    assert shown.status == "sent"
    assert 'data-testid="patient-message" data-status="sent"' in response.content.decode()


def test_optout_link_asks_then_stops_that_kind_and_suppresses_what_waits(
    clinic, morning, providers, client
):
    consent(clinic.patient, kind="marketing")
    waiting = message_plan(
        patient=clinic.patient,
        kind=MessageKind.REACTIVATION,
        key="r:later",
        scheduled_for=morning + timedelta(days=3),
    )
    assert "/p/optout/" in waiting.body  # every non-transactional message carries it
    url = optout_url(patient_id=clinic.patient.pk, kind=MessageKind.REACTIVATION)
    path = url.removeprefix("https://crm.example")
    page = client.get(path)
    assert page.status_code == 200
    assert clinic.patient.last_name not in page.content.decode()  # no patient data shown
    assert not MessageOptOut.objects.exists()  # a link scanner's GET changes nothing
    done = client.post(path)
    assert 'data-testid="optout-done"' in done.content.decode()
    assert MessageOptOut.objects.filter(
        patient=clinic.patient, kind=MessageKind.REACTIVATION
    ).exists()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.suppressed_reason) == ("suppressed", "opted_out")
    assert AuditEvent.objects.filter(patient_id=clinic.patient.pk, details__opt_out="reactivation")


def test_reminders_carry_no_optout_link(clinic, morning, providers):
    [message] = _messages(clinic, morning, n=1, kind=MessageKind.REMINDER)
    assert "/p/optout/" not in message.body


def test_tampered_optout_link_is_refused(client):
    path = "/p/optout/eyJwIjoxLCJrIjoicmVhY3RpdmF0aW9uIn0:bad/"
    response = client.post(path)
    assert response.status_code == 404
    assert not MessageOptOut.objects.exists()


def test_provider_reports_delivery_with_the_secret_address(
    clinic, morning, providers, client, settings
):
    settings.MESSAGING_CALLBACK_TOKEN = "s3cret-callback"
    [message] = _messages(clinic, morning, n=1)
    messages_dispatch()
    assert (
        client.post("/messages/callback/sms/wrong/", {"id": message.pk, "status": 1}).status_code
        == 404
    )
    response = client.post(
        "/messages/callback/sms/s3cret-callback/", {"id": message.pk, "status": "20", "phone": "x"}
    )
    assert response.json() == {"reports": 1, "updated": 1}
    message.refresh_from_db()
    assert message.delivery == "undelivered"
    client.post("/messages/callback/sms/s3cret-callback/", {"id": message.pk, "status": "1"})
    message.refresh_from_db()
    assert message.delivery == "delivered"
    assert message.status == "sent"


def test_callbacks_are_off_without_a_configured_secret(client, settings):
    settings.MESSAGING_CALLBACK_TOKEN = ""
    assert client.post("/messages/callback/sms/anything/", {"id": 1}).status_code == 404


def test_manager_edits_a_template_in_the_admin_and_sees_a_preview(clinic):
    manager = verified_client_for(clinic.manager)
    form = {"kind": "reminder", "language": "ru", "channel": "sms", "subject": ""}
    response = manager.post(
        "/admin/messaging/messagetemplate/add/", {**form, "body": "Ждём {{ pacient.first_name }}"}
    )
    assert response.status_code == 200
    assert "pacient" in response.content.decode()  # refused, the variable named
    response = manager.post(
        "/admin/messaging/messagetemplate/add/",
        {**form, "body": "{{ patient.greeting_name }}, ждём вас {{ visit.date }}"},
    )
    assert response.status_code == 302
    from clinic_crm.messaging.models import MessageTemplate

    template = MessageTemplate.objects.get()
    assert template.updated_by == clinic.manager
    page = manager.get(f"/admin/messaging/messagetemplate/{template.pk}/change/")
    assert "Анна Сергеевна, ждём вас 2 декабря 2026" in page.content.decode()


def test_live_preview_renders_the_example_or_names_the_problem(clinic):
    manager = verified_client_for(clinic.manager)
    ok = manager.post(
        "/messages/templates/preview/",
        {
            "subject": "Визит {{ visit.date }}",
            "body": "{{ patient.greeting_name }}!",
            "language": "ru",
        },
    )
    assert 'data-testid="template-preview"' in ok.content.decode()
    assert "Анна Сергеевна!" in ok.content.decode()
    bad = manager.post("/messages/templates/preview/", {"body": "{{ docter.name }}"})
    assert "docter" in bad.content.decode()
    assert (
        verified_client_for(clinic.doctor).post("/messages/templates/preview/").status_code == 403
    )
