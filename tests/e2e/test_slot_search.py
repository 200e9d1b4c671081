"""An administrator searches free slots over two weeks in a real browser: days grouped,
every slot of the day, each doctor's next available time, the part-of-the-day filter, a
clear message for a bad range, and booking from a slot; in both languages, on a laptop
and on a phone (no horizontal page scroll)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from journeys.models import ScheduleException, Visit
from tests.e2e.conftest import log_in, use_language
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import ServiceFactory, full_week

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _doctor(make_staff, branch, specialty, first, last):
    doctor = make_staff(Role.DOCTOR, branch=branch)
    doctor.first_name, doctor.last_name = first, last
    doctor.save()
    doctor.profile.specialty = specialty
    doctor.profile.save()
    full_week(doctor, branch)
    return doctor


@pytest.mark.parametrize(
    ("language", "width"), [("ru", 1280), ("en", 1280), ("ru", 390), ("en", 390)]
)
def test_administrator_searches_two_weeks_and_books_from_a_slot(
    page, make_staff, screenshot, language, width
):
    branch = BranchFactory(name="Центральный филиал на Садовой", time_zone="Europe/Moscow")
    specialty = SpecialtyFactory(name="Ортодонтия")
    service = ServiceFactory(specialty=specialty, name="Консультация", duration_minutes=30)
    petrova = _doctor(make_staff, branch, specialty, "Анна", "Петрова")
    smirnov = _doctor(make_staff, branch, specialty, "Игорь", "Смирнов")
    today = timezone.localdate()
    start = today + timedelta(days=1)
    ScheduleException.objects.create(
        doctor=smirnov, starts_on=start, ends_on=start + timedelta(days=2)
    )
    PatientFactory(last_name="Орлов", first_name="Денис", home_branch=branch)
    admin = make_staff(Role.ADMINISTRATOR, branch=branch)

    use_language(page, language)
    log_in(page, admin)  # on the laptop-sized page the fixture opens
    page.set_viewport_size({"width": width, "height": 900 if width > 1000 else 844})
    page.goto(f"/calendar/slots/?branch={branch.pk}&date={start:%Y-%m-%d}")
    page.select_option("select[name=service]", str(service.pk))
    expect(page.get_by_test_id("slot-day")).to_have_count(14)
    first_day = page.get_by_test_id("slot-day").first
    expect(first_day).to_have_attribute("data-date", f"{start:%Y-%m-%d}")
    # Every slot of the day, up to the end of the hours (08:00–20:00, 30 minutes).
    expect(first_day.get_by_test_id("slot")).to_have_count(47)
    expect(first_day.get_by_test_id("slot").last).to_have_attribute("data-time", "19:30")
    # Smirnov is off for three days: his next available time is on the fourth.
    next_smirnov = page.locator(
        f'[data-testid=next-available-doctor][data-doctor-id="{smirnov.pk}"]'
    )
    expect(next_smirnov.get_by_test_id("next-slot")).to_have_attribute("data-time", "08:00")
    expect(next_smirnov).to_contain_text(f"{start + timedelta(days=3):%-d}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(f"slot-search-{language}-{width}")

    # Evening only.
    page.select_option("select[name=part]", "evening")
    expect(first_day.get_by_test_id("slot").first).to_have_attribute("data-time", "17:00")
    screenshot(f"slot-search-evening-{language}-{width}")

    # A range that ends before it starts says so and shows nothing.
    page.fill("input[name=until]", f"{start - timedelta(days=2):%Y-%m-%d}")
    page.locator("input[name=until]").dispatch_event("change")
    expect(page.get_by_test_id("slots-invalid")).to_be_visible()
    expect(page.get_by_test_id("slot")).to_have_count(0)
    screenshot(f"slot-search-bad-range-{language}-{width}")
    page.fill("input[name=until]", f"{start + timedelta(days=6):%Y-%m-%d}")
    page.locator("input[name=until]").dispatch_event("change")
    expect(page.get_by_test_id("slot-day")).to_have_count(7)

    # Book Petrova's next available (evening) time from the list of next slots.
    next_petrova = page.locator(
        f'[data-testid=next-available-doctor][data-doctor-id="{petrova.pk}"]'
    ).get_by_test_id("next-slot")
    expect(next_petrova).to_have_attribute("data-time", "17:00")
    next_petrova.click()
    form = page.get_by_test_id("book-form")
    expect(form).to_be_visible()
    form.get_by_test_id("patient-search").fill("Орл")
    form.get_by_test_id("patient-option").first.check()
    form.get_by_test_id("book-submit").click()
    expect(page.get_by_test_id("visit-notice")).to_be_visible()
    visit = Visit.objects.get(patient__last_name="Орлов")
    assert visit.doctor == petrova
    local = timezone.localtime(visit.starts_at)
    assert (local.date(), f"{local:%H:%M}") == (start, "17:00")
    # The list refreshed itself behind the modal: that time is gone.
    page.locator("#visit-modal .btn-close").click()
    expect(
        page.locator(
            f'[data-testid=slot-day][data-date="{start:%Y-%m-%d}"] '
            f'[data-testid=slot-doctor][data-doctor-id="{petrova.pk}"] '
            '[data-testid=slot][data-time="17:00"]'
        )
    ).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert re.search(r"/calendar/slots/", page.url)
