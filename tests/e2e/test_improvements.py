"""The clinic's public “You said, we did” page in the browser: on a phone and on a desktop,
in Russian and in English, readable without scrolling sideways, with no serious
accessibility violations (axe-core)."""

from datetime import date

import pytest
from playwright.sync_api import expect

from feedback.models import Improvement, ReasonTag
from tests.e2e.conftest import serious_violations
from tests.factories import BranchFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def _improvements(clinic):
    BranchFactory(name="Северный")
    rows = [
        (
            "Электронная очередь: приём начинается вовремя",
            "An electronic queue: visits start on time",
            "Пациенты получают SMS, когда врач готов их принять, и ждут в кафе или в машине, "
            "а не в коридоре.\nСреднее ожидание сократилось с 25 до 7 минут.",
            date(2026, 11, 20),
            None,
            ["waiting"],
        ),
        (
            "Цены на сайте — те же, что в кассе",
            "Prices on the site match the till",
            "Смету теперь выдают до начала лечения, с подписью врача.",
            date(2026, 10, 5),
            clinic.branch,
            ["price", "explanation"],
        ),
    ]
    for title, title_en, description, changed_on, branch, reasons in rows:
        made = Improvement.objects.create(
            title=title,
            title_en=title_en,
            description=description,
            changed_on=changed_on,
            branch=branch,
            is_public=True,
        )
        made.reasons.set(ReasonTag.objects.filter(key__in=reasons))
    Improvement.objects.create(
        title="Черновик", description="—", changed_on=date(2026, 12, 1), is_public=False
    )


def _fits_the_width(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_the_public_page_reads_well_on_a_phone(page, clinic, visit_survey, screenshot):
    _improvements(clinic)
    page.set_viewport_size(PHONE)
    page.goto("/we-did/")
    expect(page.get_by_role("heading", name="Вы сказали — мы сделали")).to_be_visible()
    expect(page.get_by_test_id("improvement")).to_have_count(2)
    expect(page.get_by_test_id("improvement-title").first).to_have_text(
        "Электронная очередь: приём начинается вовремя"
    )
    expect(page.get_by_text("Черновик")).to_have_count(0)
    assert _fits_the_width(page)
    assert serious_violations(page) == []
    screenshot("we-did-mobile")

    page.get_by_test_id("we-did-lang").click()
    expect(page.get_by_role("heading", name="You said, we did")).to_be_visible()
    expect(page.get_by_text("An electronic queue: visits start on time")).to_be_visible()
    assert _fits_the_width(page)
    assert serious_violations(page) == []
    screenshot("we-did-mobile-en")

    page.get_by_role("link", name=clinic.branch.name).click()
    expect(page.get_by_test_id("improvement")).to_have_count(2)  # its own and the clinic's
    assert serious_violations(page) == []
    screenshot("we-did-branch-mobile-en")


def test_the_public_page_on_a_desktop(page, clinic, visit_survey, screenshot):
    _improvements(clinic)
    page.set_viewport_size(DESKTOP)
    page.goto("/we-did/")
    expect(page.get_by_test_id("improvement")).to_have_count(2)
    assert serious_violations(page) == []
    screenshot("we-did-desktop")


def test_the_page_with_nothing_public_yet(page, visit_survey, screenshot):
    page.set_viewport_size(PHONE)
    page.goto("/we-did/")
    expect(page.get_by_test_id("we-did-empty")).to_be_visible()
    assert serious_violations(page) == []
    screenshot("we-did-empty-mobile")
