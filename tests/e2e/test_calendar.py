"""An administrator works the day calendar in a real browser: books a visit in a free slot
through the modal, marks the patient's arrival and cancels another visit, and the page
never reloads (a marker set on ``window`` survives all of it)."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from journeys.models import Visit
from tests.conftest import PASSWORD, current_totp
from tests.e2e.conftest import log_in, use_language, zone_where_it_is_late_morning
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import ServiceFactory, VisitFactory, full_week

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, user):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=re.compile("Продолжить|Continue")).click()
    page.fill("input[name=token]", current_totp(user.device))
    page.get_by_role("button", name=re.compile("Проверить|Verify")).click()
    expect(page.get_by_test_id("home-heading")).to_be_visible()


def _close_modal(page):
    page.locator("#visit-modal .btn-close").click()
    expect(page.locator("#visit-modal")).to_be_hidden()
    expect(page.locator(".modal-backdrop")).to_have_count(0)
    # Closing empties the modal, so the next visit never flashes the previous one.
    expect(page.locator("#visit-modal-body .modal-header")).to_have_count(0)


def test_administrator_books_marks_arrival_and_cancels_without_reloading(
    page, make_staff, screenshot
):
    zone = zone_where_it_is_late_morning()
    branch = BranchFactory(name="Main street", time_zone=zone)
    specialty = SpecialtyFactory(name="Therapy")
    service = ServiceFactory(specialty=specialty, name="Consultation", duration_minutes=30)
    doctor = make_staff(Role.DOCTOR)
    doctor.first_name, doctor.last_name = "Anna", "Petrova"
    doctor.save()
    doctor.profile.specialty = specialty
    doctor.profile.save()
    full_week(doctor, branch)
    colleague = make_staff(Role.DOCTOR)
    colleague.first_name, colleague.last_name = "Igor", "Smirnov"
    colleague.save()
    full_week(colleague, branch)
    PatientFactory(last_name="Ivanov", first_name="Pavel", home_branch=branch)
    today = datetime.now(ZoneInfo(zone)).date()
    other_start = datetime.combine(today, datetime.min.time(), tzinfo=ZoneInfo(zone)).replace(
        hour=15
    )
    to_cancel = VisitFactory(
        patient=PatientFactory(last_name="Sidorova", first_name="Maria"),
        doctor=colleague,
        branch=branch,
        service=service,
        starts_at=other_start,
        ends_at=other_start + timedelta(minutes=30),
    )
    admin = make_staff(Role.ADMINISTRATOR, branch=branch)

    _log_in(page, admin)
    page.goto(f"/calendar/?branch={branch.pk}")
    expect(page.get_by_test_id("doctor-column")).to_have_count(2)
    page.evaluate("window.__marker = 1")

    # Book Anna Petrova at 13:00 through the modal.
    page.locator(
        f'[data-testid=free-cell][data-doctor-id="{doctor.pk}"][data-time="13:00"]'
    ).click()
    form = page.get_by_test_id("book-form")
    expect(form).to_be_visible()
    form.get_by_test_id("patient-search").fill("Ivan")
    expect(form.get_by_test_id("patient-option")).to_have_count(1)
    form.get_by_test_id("patient-option").first.check()
    form.locator("select[name=service]").select_option(str(service.pk))
    expect(form.get_by_test_id("book-end-time")).to_have_text("13:30")
    screenshot("calendar-book-form")
    form.get_by_test_id("book-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_be_visible()
    expect(page.get_by_test_id("visit-status")).to_have_attribute(
        "class", re.compile("st-scheduled")
    )
    screenshot("calendar-booked-panel")
    booked = Visit.objects.get(patient__last_name="Ivanov")
    assert booked.doctor == doctor
    assert booked.booked_by == admin

    # The grid refreshed itself behind the modal.
    _close_modal(page)
    block = page.locator(f'[data-testid=visit-block][data-visit-id="{booked.pk}"]')
    expect(block).to_be_visible()
    expect(page.get_by_test_id("visit-block")).to_have_count(2)

    # The patient arrives.
    block.click()
    panel = page.get_by_test_id("visit-panel")
    expect(panel).to_have_attribute("data-visit-id", str(booked.pk))
    # (long before the visit's time the browser asks first; the administrator says yes)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("visit-action-arrive").click()
    expect(page.get_by_test_id("visit-panel")).to_have_attribute("data-status", "arrived")
    _close_modal(page)
    expect(block).to_have_attribute("data-status", "arrived")
    screenshot("calendar-day-after-arrival")

    # Cancel Maria Sidorova's visit: a reason is required.
    page.locator(f'[data-testid=visit-block][data-visit-id="{to_cancel.pk}"]').click()
    page.get_by_test_id("visit-cancel").click()
    cancel_form = page.get_by_test_id("cancel-form")
    expect(cancel_form).to_be_visible()
    cancel_form.get_by_test_id("cancel-submit").click()
    expect(page.get_by_test_id("cancel-form").locator(".invalid-feedback")).to_be_visible()
    screenshot("calendar-cancel-needs-reason")
    page.get_by_test_id("cancel-by-patient").check()
    page.get_by_test_id("cancel-reason").fill("Flu")
    page.get_by_test_id("cancel-submit").click()
    expect(page.get_by_test_id("visit-panel")).to_have_attribute(
        "data-status", "cancelled_by_patient"
    )
    _close_modal(page)
    expect(
        page.locator(f'[data-testid=visit-block][data-visit-id="{to_cancel.pk}"]')
    ).to_have_count(0)
    expect(
        page.locator(f'[data-testid=free-cell][data-doctor-id="{colleague.pk}"][data-time="15:00"]')
    ).to_be_visible()
    screenshot("calendar-day-after-cancel")

    assert page.evaluate("window.__marker") == 1
    to_cancel.refresh_from_db()
    assert to_cancel.status == Visit.Status.CANCELLED_BY_PATIENT
    assert to_cancel.cancel_reason == "Flu"


def test_administrator_finds_a_slot_and_navigates_days_without_reloading(
    page, make_staff, screenshot
):
    zone = zone_where_it_is_late_morning()
    branch = BranchFactory(name="North", time_zone=zone)
    specialty = SpecialtyFactory(name="Orthodontics")
    service = ServiceFactory(specialty=specialty, name="Check-up", duration_minutes=45)
    doctor = make_staff(Role.DOCTOR)
    doctor.first_name, doctor.last_name = "Olga", "Kuznetsova"
    doctor.save()
    doctor.profile.specialty = specialty
    doctor.profile.save()
    full_week(doctor, branch)
    PatientFactory(last_name="Orlov", first_name="Denis", home_branch=branch)
    admin = make_staff(Role.ADMINISTRATOR, branch=branch)

    _log_in(page, admin)
    page.goto(f"/calendar/?branch={branch.pk}")
    page.evaluate("window.__marker = 1")
    heading = page.get_by_test_id("calendar-heading").inner_text()
    page.get_by_test_id("day-next").click()
    expect(page.get_by_test_id("calendar-heading")).not_to_have_text(heading)
    expect(page).to_have_url(re.compile(r"date="))
    expect(page.locator("nav.navbar")).to_have_count(1)  # the body was swapped, not nested
    assert page.evaluate("window.__marker") == 1

    page.goto(f"/calendar/slots/?branch={branch.pk}")
    page.select_option("select[name=service]", str(service.pk))
    expect(page.get_by_test_id("slot").first).to_be_visible()
    screenshot("calendar-slot-search")
    page.evaluate("window.__marker = 2")
    page.get_by_test_id("slot").first.click()
    form = page.get_by_test_id("book-form")
    form.get_by_test_id("patient-search").fill("Orl")
    form.get_by_test_id("patient-option").first.check()
    form.get_by_test_id("book-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_be_visible()
    visit = Visit.objects.get(patient__last_name="Orlov", service=service)

    # Move it to the last free time of that day, from the move panel's list.
    page.get_by_test_id("visit-move").click()
    expect(page.get_by_test_id("move-slot").first).to_be_visible()
    screenshot("calendar-move-form")
    last = page.get_by_test_id("move-slot").last
    new_time = last.get_attribute("data-time")
    last.click()
    expect(page.get_by_test_id("move-new")).to_contain_text(new_time)  # old → new, once
    screenshot("calendar-move-confirm")
    page.get_by_test_id("move-confirm-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_be_visible()
    visit.refresh_from_db()
    assert f"{visit.starts_at.astimezone(ZoneInfo(zone)):%H:%M}" == new_time
    assert page.evaluate("window.__marker") == 2
    _close_modal(page)

    page.goto(f"/calendar/week/?branch={branch.pk}")
    expect(page.get_by_test_id("week-row")).to_have_count(1)
    expect(page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]')).to_be_visible()
    screenshot("calendar-week")


@pytest.mark.parametrize(
    ("width", "height", "language"),
    [(1366, 900, "ru"), (1280, 800, "ru"), (1280, 800, "en"), (390, 844, "ru")],
)
def test_the_week_fits_the_laptop_and_scrolls_in_its_own_box_on_a_phone(
    page, make_staff, screenshot, width, height, language
):
    branch = BranchFactory(
        name="Центральный филиал на Садовой-Кудринской", time_zone="Europe/Moscow"
    )
    BranchFactory(name="Сокол")
    specialty = SpecialtyFactory(name="Ортодонтия")
    service = ServiceFactory(specialty=specialty, name="Контроль брекет-системы")
    for first, last in (("Анна", "Петрова-Водкина"), ("Игорь", "Смирнов"), ("Олег", "Ким")):
        doctor = make_staff(Role.DOCTOR, branch=branch)
        doctor.first_name, doctor.last_name = first, last
        doctor.save()
        full_week(doctor, branch)
        start = datetime.now(ZoneInfo("Europe/Moscow")).replace(
            hour=10, minute=0, second=0, microsecond=0
        ) + timedelta(days=1)
        VisitFactory(
            patient=PatientFactory(last_name="Константинопольская", first_name="Александра"),
            doctor=doctor,
            branch=branch,
            service=service,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
        )
    admin = make_staff(Role.ADMINISTRATOR, all_branches=True)  # the call centre

    use_language(page, language)
    log_in(page, admin)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"/calendar/week/?branch={branch.pk}")
    days = page.get_by_test_id("week-day")
    expect(days).to_have_count(7)
    select = page.get_by_test_id("week-branch")
    expect(select).to_be_visible()
    screenshot(f"calendar-week-{width}-{language}")
    # Nothing but the calendar's own scroller reaches past the right edge.
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1
                && !el.closest('[data-testid=week-scroll]'))
        .map(el => el.tagName + '.' + el.className)"""
    )
    assert not wide, wide
    # The branch select is wide enough for the whole name.
    assert select.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width >= 1280:
        seventh = days.nth(6).bounding_box()
        assert seventh["x"] + seventh["width"] <= width
        scroller = page.get_by_test_id("week-scroll")
        assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth")
    else:  # the phone scrolls the table in its own box, not the page
        scroller = page.get_by_test_id("week-scroll")
        assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
