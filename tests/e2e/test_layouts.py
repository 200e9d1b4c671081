"""Every role's pages fit a 1280 px laptop, a 1024 px tablet and a 390 px phone: no
horizontal scroll, and the navigation (collapsed below 1200 px) reaches every page and
"log out"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Visit
from journeys.services.visit_status import visit_mark_no_show
from tests.e2e.conftest import log_in, use_language
from tests.journeys.factories import accepted_plan, clinic_visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"laptop": (1280, 800), "tablet": (1024, 768), "phone": (390, 844)}


def _some_day(clinic) -> None:
    _plan, stages = accepted_plan(clinic)
    now = timezone.now()
    for hours, status in ((-3, Visit.Status.COMPLETED), (-1, Visit.Status.ARRIVED), (2, None)):
        start = now + timedelta(hours=hours)
        clinic_visit(clinic, start, **({"status": status} if status else {}))
    start = now - timedelta(hours=5)
    missed = clinic_visit(clinic, start, stage=stages[0])
    visit_mark_no_show(actor=clinic.admin, visit=missed)  # a task on the worklist


def _overflow(page) -> int:
    return page.evaluate(
        """Math.max(document.documentElement.scrollWidth, document.body.scrollWidth,
                    document.querySelector("nav").scrollWidth) - window.innerWidth"""
    )


def _nav_urls(page) -> list[str]:
    links = page.locator("#mainnav a.nav-link[href^='/'], #mainnav a.dropdown-item[href^='/']")
    return list(
        dict.fromkeys(links.evaluate_all("links => links.map(a => a.getAttribute('href'))"))
    )


def _reach_log_out(page, size: str) -> None:
    if size != "laptop":
        page.locator(".navbar-toggler").click()
    button = page.get_by_role("button", name="Выйти")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["x"] + box["width"] <= page.viewport_size["width"], box


@pytest.mark.parametrize("role", ["admin", "doctor", "curator", "manager"])
def test_every_page_of_every_role_fits_laptop_tablet_and_phone(page, clinic, role, screenshot):
    _some_day(clinic)
    use_language(page, "ru")  # the longer labels
    log_in(page, getattr(clinic, role))
    card = f"/patients/{clinic.patient.pk}/"
    urls = [*_nav_urls(page), card, f"{card}timeline/"]
    assert len(urls) >= 5, urls
    problems = []
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for url in urls:
            response = page.goto(url)
            assert response.status == 200, url
            overflow = _overflow(page)
            if overflow > 0:
                problems.append(f"{size} {url}: {overflow} px wider than the screen")
            name = url.replace(card, "/patient-card/").strip("/").replace("/", "-") or "home"
            screenshot(f"layout-{role}-{size}-{name}")
        page.goto("/")
        _reach_log_out(page, size)
    assert not problems, "\n".join(problems)
