"""Patient messages in a real browser: a manager finds a failed message in the outbox
and queues it again; a patient stops a kind of message from the link in it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.messaging.links import optout_url
from clinic_crm.messaging.models import (
    UNKNOWN_AFTER_ASKING,
    Message,
    MessageKind,
    MessageOptOut,
)
from clinic_crm.messaging.services.outbox import message_plan
from tests.e2e.conftest import log_in
from tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _message(patient, kind, status, **fields):
    message = message_plan(
        patient=patient, kind=kind, key=f"e2e:{patient.pk}:{kind}", scheduled_for=timezone.now()
    )
    Message.objects.filter(pk=message.pk).update(status=status, **fields)
    return message


def test_manager_retries_a_failed_message_from_the_outbox(page, clinic, screenshot, settings):
    settings.MESSAGING_SMS_BACKEND = "file"
    failed = _message(
        clinic.patient,
        MessageKind.FOLLOW_UP,
        "failed",
        attempts=6,
        last_error="sms: SMSC error 8: can't deliver",
        closed_at=timezone.now(),
    )
    unknown = _message(
        PatientFactory(home_branch=clinic.branch),
        MessageKind.REMINDER,
        "failed",
        attempts=6,
        last_error=UNKNOWN_AFTER_ASKING.format(reason="sms: timed out"),
        closed_at=timezone.now(),
    )
    for _ in range(3):
        _message(
            PatientFactory(home_branch=clinic.branch),
            MessageKind.REMINDER,
            "sent",
            sent_at=timezone.now(),
            closed_at=timezone.now(),
        )
    log_in(page, clinic.manager)
    page.goto("/messages/")
    table = page.get_by_test_id("outbox-table")
    expect(table.get_by_test_id("outbox-row")).to_have_count(5)
    expect(page.get_by_test_id("outbox-daily")).to_contain_text("3")
    with page.expect_response(lambda r: "/messages/?" in r.url):
        page.locator("#id_status").select_option("failed")  # HTMX filter, no reload
    expect(table.get_by_test_id("outbox-row")).to_have_count(2)
    row = table.locator(f"#message-{failed.pk}")
    expect(row).to_contain_text("SMSC error 8")
    # The dispatcher's own words are in the reader's language, the provider's reason kept.
    expect(table.locator(f"#message-{unknown.pk}")).to_contain_text(
        "Доставка неизвестна: прежняя попытка могла дойти до пациента, а спросить "
        "провайдера не удалось (sms: timed out)."
    )
    screenshot("outbox-failed")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("outbox-failed-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    row.get_by_test_id("retry").click()
    expect(table.locator(f"#message-{failed.pk}")).to_have_attribute("data-status", "pending")
    failed.refresh_from_db()
    assert failed.status == "pending"
    screenshot("outbox-retried")


def test_patient_stops_a_kind_of_message_from_its_link(page, clinic, screenshot):
    url = optout_url(patient_id=clinic.patient.pk, kind=MessageKind.REACTIVATION)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/" + url.split("://", 1)[1].split("/", 1)[1])  # the path of the link
    expect(page.locator("body")).not_to_contain_text(clinic.patient.last_name)
    screenshot("optout-ask")
    page.get_by_test_id("optout-confirm").click()
    expect(page.get_by_test_id("optout-done")).to_be_visible()
    screenshot("optout-done")
    assert MessageOptOut.objects.filter(
        patient=clinic.patient, kind=MessageKind.REACTIVATION
    ).exists()


def test_patient_confirms_the_visit_from_the_reminder_link(page, clinic, screenshot):
    from journeys.models import Visit
    from journeys.patient_links import visit_link_url
    from tests.journeys.factories import VisitFactory, tomorrow_at

    clinic.branch.directions = "Парковка во дворе."
    clinic.branch.save()
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(10),
        ends_at=tomorrow_at(10) + timedelta(minutes=30),
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/" + visit_link_url(visit=visit).split("://", 1)[1].split("/", 1)[1])
    expect(page.get_by_test_id("visit-when")).to_contain_text("10:00")
    expect(page.locator("body")).to_contain_text("Парковка во дворе.")
    screenshot("visit-link-ask")
    page.get_by_test_id("visit-confirm").click()
    expect(page.get_by_test_id("visit-answer-done")).to_be_visible()
    screenshot("visit-link-confirmed")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CONFIRMED


def test_manager_sees_a_live_preview_while_editing_a_template(page, clinic, screenshot):
    log_in(page, clinic.manager)
    page.goto("/admin/messaging/messagetemplate/add/")
    preview = page.locator("#template-live-preview")
    page.locator("#id_body").fill("{{ patient.greeting_name }}, ждём вас {{ visit.date }}.")
    expect(preview).to_contain_text("Анна Сергеевна, ждём вас 2 декабря 2026.")
    page.locator("#id_body").fill("{{ patient.greeting_name }}, {{ docter.name }}")
    expect(preview).to_contain_text("docter")
    screenshot("template-live-preview")
