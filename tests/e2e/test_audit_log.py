"""The audit log in a real browser: a curator closes a task on the worklist; the manager's
log names it by the patient and the kind of task, in the clinic's time, with who closed
it and from which browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.audit.models import AuditAction, AuditEvent
from journeys.models import Task
from tests.e2e.conftest import log_in, use_language

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_sees_a_closed_task_named_by_the_patient_in_the_clinic_s_time(
    page, clinic, screenshot
):
    patient = clinic.patient
    task = Task.objects.create(
        kind=Task.Kind.NEGATIVE_FEEDBACK,
        patient=patient,
        assignee=clinic.curator,
        branch=clinic.branch,
        cause_key="test:audit-e2e",
        title="Call back",
        due_at=timezone.now() + timedelta(hours=3),
    )

    log_in(page, clinic.curator)
    page.goto("/worklist/")
    row = page.get_by_test_id(f"task-{task.pk}")
    row.get_by_test_id("task-result").select_option("reached_solved")
    row.locator("input[name=outcome]").fill("Apologised, booked a free check")
    row.get_by_role("button", name="Закрыть").click()
    expect(page.get_by_test_id(f"task-{task.pk}")).to_have_count(0)
    page.get_by_role("button", name=re.compile("Выйти|Log out")).click()

    closed = AuditEvent.objects.get(
        object_type="journeys.Task", object_id=str(task.pk), action=AuditAction.UPDATE
    )
    local = timezone.localtime(closed.at)  # the clinic's zone, Europe/Moscow
    browser_ua = page.evaluate("navigator.userAgent")

    log_in(page, clinic.manager)
    page.goto("/")
    page.get_by_role("link", name=re.compile("Журнал аудита")).first.click()
    page.select_option("select[name=object_type]", "journeys.Task")
    expect(page).to_have_url(re.compile(r"object_type=journeys\.Task"))
    rows = page.get_by_test_id("audit-row").filter(has_text="Выполнено")
    expect(rows).to_have_count(1)
    row = rows.first
    initials = f"{patient.last_name} {patient.first_name[0]}."
    expect(row.get_by_test_id("audit-record")).to_contain_text(initials)
    expect(row.get_by_test_id("audit-record")).to_contain_text("задача «Негативный отзыв»")
    expect(row).to_contain_text(local.strftime("%d.%m.%Y %H:%M"))
    expect(row).to_contain_text(str(clinic.curator))
    expect(row).to_contain_text("127.0.0.1")
    expect(row).to_contain_text(browser_ua[:20])
    expect(row.get_by_test_id("audit-change")).to_contain_text("Открыта → Выполнено")
    expect(page.locator("thead")).to_contain_text("Europe/Moscow")
    screenshot("audit-ru-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("audit-ru-390")
    # no horizontal scroll of the page itself: the table scrolls in its own box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    use_language(page, "en")
    page.reload()
    row = page.get_by_test_id("audit-row").filter(has_text="Done").first
    expect(row.get_by_test_id("audit-record")).to_contain_text("task “Negative feedback”")
    screenshot("audit-en-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto("/audit/")
    screenshot("audit-en-1280")
