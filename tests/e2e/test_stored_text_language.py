"""In a real browser: a task and a visit status stored while Russian was active read
English to an English reader on the worklist and the timeline, and the admin speaks
correct Russian (screenshots at 1280 px and on a phone, in both languages)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from journeys.services.visit_status import visit_mark_no_show
from tests.e2e.conftest import log_in, use_language
from tests.journeys.factories import accepted_plan, clinic_visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("I18N_SHOTS_DIR", "var/screenshots"))
SIZES = {"1280": {"width": 1280, "height": 860}, "390": {"width": 390, "height": 844}}


def _shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(SIZES["1280"])


def test_stored_tasks_and_events_read_in_the_readers_language(page, clinic):
    _plan, stages = accepted_plan(clinic)
    visit = clinic_visit(clinic, timezone.now() - timedelta(hours=1), stage=stages[0])
    with translation.override("ru"):
        visit_mark_no_show(actor=clinic.admin, visit=visit)
    when = timezone.localtime(visit.starts_at).strftime("%d.%m %H:%M")

    log_in(page, clinic.curator)
    for language, title, status in (
        ("en", f"No-show on {when}: call and rebook", "No-show"),
        ("ru", f"Неявка {when}: позвонить и записать снова", "Неявка"),
    ):
        use_language(page, language)
        page.goto("/worklist/")
        expect(page.get_by_test_id("task-title").first).to_have_text(title)
        _shots(page, f"worklist-{language}")
        page.goto(f"/patients/{clinic.patient.pk}/timeline/")
        expect(page.get_by_test_id("event-text").filter(has_text=status).first).to_be_visible()
        _shots(page, f"timeline-{language}")
    use_language(page, "en")
    page.goto("/worklist/")
    expect(page.get_by_test_id("worklist")).not_to_contain_text("Неявка")


def test_the_admin_in_russian_and_english(page, make_staff):
    manager = make_staff(Role.MANAGER)
    manager.is_superuser = True
    manager.save(update_fields=["is_superuser"])
    for _n in range(8):
        make_staff(Role.DOCTOR)
    log_in(page, manager)
    use_language(page, "ru")
    page.goto("/admin/staff/user/")
    expect(page.get_by_test_id("admin-add")).to_have_text("Добавить сотрудника")
    expect(page.get_by_test_id("admin-count")).to_have_text("9 сотрудников")
    _shots(page, "admin-staff-ru")
    page.goto("/admin/auth/group/")
    expect(page.locator("#result_list")).to_contain_text("Врач")
    _shots(page, "admin-groups-ru")
    page.goto("/admin/catalogue/service/add/")
    expect(page.locator("h1")).to_have_text("Добавить услугу")
    _shots(page, "admin-service-add-ru")
    use_language(page, "en")
    page.goto("/admin/staff/user/")
    expect(page.get_by_test_id("admin-add")).to_have_text("Add staff member")
    expect(page.get_by_test_id("admin-count")).to_have_text("9 staff members")
    _shots(page, "admin-staff-en")
    page.goto("/admin/auth/group/")
    _shots(page, "admin-groups-en")
