"""A patient fills in the pre-visit questionnaire on a phone (a refused send first, told
at each question; an accessibility check with axe-core on every step), then the doctor
logs in and reads the answers on the day's list."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Screening, ScreeningForm, ScreeningQuestion, Visit
from journeys.screening_defaults import default_form_create
from journeys.screening_links import screening_link_path
from tests.e2e.conftest import log_in, serious_violations, use_language
from tests.journeys.factories import VisitFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_a_patient_fills_the_form_on_a_phone_and_the_doctor_reads_it(page, clinic, screenshot):
    # Transactional tests flush the database: the data migration's form is written again.
    default_form_create(ScreeningForm, ScreeningQuestion)
    form = ScreeningForm.objects.get(service__isnull=True)
    questions = list(form.questions.order_by("position"))
    clinic.patient.first_name = "Анна"
    clinic.patient.save()
    start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )

    page.set_viewport_size(PHONE)
    page.goto(screening_link_path(visit=visit))
    expect(page.get_by_test_id("screening-visit")).to_contain_text("Анна")
    expect(page.get_by_label(questions[0].text)).to_be_visible()
    assert serious_violations(page) == []
    screenshot("screening-form-mobile")

    # Sent with nothing answered: each required question says so, and focus goes to the
    # first of them.
    page.get_by_test_id("screening-send").click()
    for question in (questions[0], questions[1], questions[3]):
        expect(page.get_by_test_id(f"error-q_{question.pk}")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == f"q_{questions[0].pk}"
    assert serious_violations(page) == []
    screenshot("screening-form-errors-mobile")
    assert not Screening.objects.exists()

    page.get_by_label(questions[0].text).fill("Ноет зуб справа, <b>три</b> дня")
    page.get_by_test_id(f"q_{questions[1].pk}").get_by_label("Да", exact=True).check()
    page.get_by_label(questions[2].text).fill("Ибупрофен 200 мг")
    page.get_by_test_id(f"q_{questions[3].pk}").get_by_label("Нет", exact=True).check()
    page.get_by_label(questions[5].text).fill("Можно ли обойтись без удаления?")
    screenshot("screening-form-filled-mobile")
    page.get_by_test_id("screening-send").click()
    expect(page.get_by_test_id("screening-thanks")).to_be_visible()
    assert serious_violations(page) == []
    screenshot("screening-thanks-mobile")
    screening = Screening.objects.get(visit=visit)
    assert screening.answers[str(questions[3].pk)] == "Нет"

    # The next day: the visit is on the doctor's list of today.
    today = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    Visit.objects.filter(pk=visit.pk).update(starts_at=today, ends_at=today + timedelta(minutes=30))
    page.set_viewport_size({"width": 1280, "height": 860})
    use_language(page, "ru")
    log_in(page, clinic.doctor)
    today_list = page.get_by_test_id("today-visits")
    expect(today_list).to_contain_text(clinic.patient.full_name)
    badge = today_list.get_by_test_id("screening-badge")
    expect(badge).to_contain_text("Анкета")
    answers = today_list.get_by_test_id("screening-answers")
    expect(answers.get_by_text("Ибупрофен 200 мг")).not_to_be_visible()  # closed at first
    badge.click()
    expect(answers).to_contain_text("Ноет зуб справа, <b>три</b> дня")  # shown as typed
    expect(answers).to_contain_text("Ибупрофен 200 мг")
    expect(answers).to_contain_text("Можно ли обойтись без удаления?")
    # The doctor's list itself (the home page's intro line is not this feature's).
    assert serious_violations(page, "[data-testid=today-visits]") == []
    screenshot("screening-doctor-day")
