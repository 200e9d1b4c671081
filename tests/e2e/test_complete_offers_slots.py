"""A doctor completes a visit and books the next one from the offered free slots: the
next stage's window first, a colleague's slot fills the doctor too, and typing by hand
still works; in both languages, on a laptop and on a phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from journeys.models import Stage, Visit
from tests.e2e.conftest import log_in, use_language
from tests.journeys.factories import accepted_plan, clinic_visit, full_week

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "width"), [("ru", 1280), ("en", 390)])
def test_doctor_books_the_next_visit_from_an_offered_slot(
    page, clinic, make_staff, screenshot, language, width
):
    colleague = make_staff(Role.DOCTOR, branch=clinic.branch)
    colleague.first_name, colleague.last_name = "Игорь", "Смирнов"
    colleague.save()
    colleague.profile.specialty = clinic.ortho
    colleague.profile.save()
    full_week(colleague, clinic.branch)
    _plan, stages = accepted_plan(clinic)
    today = timezone.localdate()
    window_start = today + timedelta(days=7)
    Stage.objects.filter(pk=stages[1].pk).update(
        window_start=window_start, window_end=window_start + timedelta(days=2)
    )
    visit = clinic_visit(
        clinic,
        timezone.now() - timedelta(minutes=15),
        stage=stages[0],
        status=Visit.Status.ARRIVED,
    )

    use_language(page, language)
    log_in(page, clinic.doctor)  # on the laptop-sized page the fixture opens
    page.set_viewport_size({"width": width, "height": 860 if width > 1000 else 844})
    page.goto(f"/visits/{visit.pk}/complete/")
    page.check("input[name=next_step][value=book]")
    offers = page.get_by_test_id("offered-slots")
    expect(offers).to_be_visible()
    first_day = offers.get_by_test_id("offer-day").first
    expect(first_day).to_have_attribute("data-date", f"{window_start:%Y-%m-%d}")
    expect(first_day).to_have_attribute("data-in-window", "1")
    expect(offers.get_by_test_id("window-note")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(f"complete-offers-{language}-{width}")

    # The doctor's own slot fills date and time.
    first_day.get_by_test_id("offer-slot").nth(4).click()  # 09:00
    expect(page.locator("input[name=next_starts_at]")).to_have_value(
        f"{window_start:%Y-%m-%d}T09:00"
    )
    expect(page.locator("select[name=next_doctor]")).to_have_value(str(clinic.doctor.pk))
    expect(offers.get_by_test_id("offer-chosen")).to_contain_text(f"{window_start:%d.%m.%Y} 09:00")

    # A colleague's slot fills the doctor too; the offers are not reloaded by it.
    colleague_slot = offers.locator(
        f'[data-testid=offer-colleague][data-doctor-id="{colleague.pk}"] '
        "[data-testid=colleague-slot]"
    ).first
    colleague_slot.click()
    expect(colleague_slot).to_have_attribute("aria-pressed", "true")
    expect(page.locator("select[name=next_doctor]")).to_have_value(str(colleague.pk))
    chosen = page.locator("input[name=next_starts_at]").input_value()
    assert chosen.startswith(f"{window_start:%Y-%m-%d}T")
    screenshot(f"complete-offers-chosen-{language}-{width}")

    # Choosing another doctor in the select offers that doctor's time.
    page.select_option("select[name=next_doctor]", str(clinic.surgeon.pk))
    expect(offers.get_by_test_id("offer-colleague")).to_have_count(2)
    page.select_option("select[name=next_doctor]", str(colleague.pk))
    expect(offers.get_by_test_id("offer-colleague")).to_have_count(1)

    # Typing by hand still works: the field keeps what is typed and books it.
    typed = f"{window_start + timedelta(days=1):%Y-%m-%d}T11:15"
    page.fill("input[name=next_starts_at]", typed)
    page.get_by_test_id("complete-submit").click()
    expect(page).to_have_url(re.compile(rf"/patients/{clinic.patient.pk}/timeline/"))
    booked = Visit.objects.exclude(pk=visit.pk).get(patient=clinic.patient)
    assert booked.doctor == colleague
    assert f"{timezone.localtime(booked.starts_at):%Y-%m-%dT%H:%M}" == typed


def test_picking_a_slot_and_sending_books_exactly_it(page, clinic):
    _plan, stages = accepted_plan(clinic)
    visit = clinic_visit(
        clinic,
        timezone.now() - timedelta(minutes=15),
        stage=stages[0],
        status=Visit.Status.ARRIVED,
    )
    log_in(page, clinic.doctor)
    page.goto(f"/visits/{visit.pk}/complete/")
    page.check("input[name=next_step][value=book]")
    slot = page.get_by_test_id("offer-slot").nth(2)
    slot.click()
    picked = page.locator("input[name=next_starts_at]").input_value()
    assert picked
    page.get_by_test_id("complete-submit").click()
    expect(page).to_have_url(re.compile(rf"/patients/{clinic.patient.pk}/timeline/"))
    booked = Visit.objects.exclude(pk=visit.pk).get(patient=clinic.patient)
    assert booked.doctor == clinic.doctor
    assert f"{timezone.localtime(booked.starts_at):%Y-%m-%dT%H:%M}" == picked
