"""Care across branches in the browser: a doctor of branch C reaches the patient of
branch A they see today, completes the visit with a handoff and lands on the timeline;
a doctor of branch B, with no relationship, finds the patient neither by search nor by
the timeline's address."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from journeys.models import Handoff, Visit
from tests.e2e.conftest import log_in
from tests.factories import SpecialtyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_carer_in_another_branch_works_the_patient_and_a_stranger_finds_nothing(
    page, world, screenshot
):
    w = world
    surgery = SpecialtyFactory(name="Хирургия")
    log_in(page, w.doctor_c)
    expect(page.get_by_test_id("home-heading")).to_be_visible()
    page.get_by_role("link", name=re.compile(w.p.last_name)).first.click()
    expect(page).to_have_url(re.compile(rf"/patients/{w.p.pk}/timeline/"))
    screenshot("care-across-branches-timeline")

    page.goto(f"/visits/{w.visit.pk}/complete/")
    page.check("input[name=next_step][value=handoff]")
    page.select_option("select[name=to_specialty]", str(surgery.pk))
    page.fill("textarea[name=handoff_reason]", "Удалить зуб мудрости")
    # The date picker is filled as a person would in the Russian interface.
    page.fill("input[name=handoff_due]", (timezone.localdate() + timedelta(days=10)).isoformat())
    page.get_by_test_id("complete-submit").click()
    expect(page).to_have_url(re.compile(rf"/patients/{w.p.pk}/timeline/"))
    expect(page.locator("body")).to_contain_text("Удалить зуб мудрости")
    w.visit.refresh_from_db()
    assert w.visit.status == Visit.Status.COMPLETED
    assert Handoff.objects.filter(reason="Удалить зуб мудрости").exists()

    page.get_by_role("button", name=re.compile("Выйти|Log out")).click()
    stranger = w.attackers[Role.DOCTOR]
    log_in(page, stranger)
    page.goto(f"/patients/?q={w.p.last_name}")
    expect(page.locator("main")).not_to_contain_text(w.p.last_name)
    response = page.goto(f"/patients/{w.p.pk}/timeline/")
    assert response.status == 404
    expect(page.locator("main")).not_to_contain_text(w.p.last_name)
    screenshot("care-across-branches-stranger-404")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("care-across-branches-stranger-404-phone")
