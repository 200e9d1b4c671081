"""The pre-visit questionnaire: the reminder links it, the patient fills it in once behind
the signed link (checked answer by answer, closed once the visit has started), and the
doctor reads the answers on the day's list and the timeline, escaped."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.messaging.models import Message
from journeys.models import Screening, ScreeningForm, ScreeningQuestion, Visit
from journeys.screening_defaults import DEFAULT_QUESTIONS
from journeys.screening_links import screening_link_path, screening_link_url
from journeys.services.screening import SCREENING_ANSWER_MAX_LENGTH
from journeys.services.visit_status import visit_cancel
from tests.conftest import client_for
from tests.factories import PatientFactory
from tests.journeys.factories import ServiceFactory, VisitFactory, clinic_visit, tomorrow_at
from tests.messaging.conftest import MORNING, book

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def default_form():
    """The default form the data migration writes (complaints, medicines, allergies,
    what to discuss), written again where a transactional test flushed it."""
    from journeys.models import ScreeningQuestion
    from journeys.screening_defaults import default_form_create

    default_form_create(ScreeningForm, ScreeningQuestion)
    return ScreeningForm.objects.get(service__isnull=True)


@pytest.fixture
def questions(default_form):
    """The default form's questions by kind: the required text (complaints), the
    required yes/no (medicines), the required choice (allergies), an optional text."""
    rows = list(default_form.questions.order_by("position"))
    return {
        "complaints": rows[0],
        "medicines": rows[1],
        "which": rows[2],
        "allergy": rows[3],
        "discuss": rows[5],
    }


@pytest.fixture
def visit(clinic):
    return clinic_visit(clinic, tomorrow_at(11))


def _field(question) -> str:
    return f"q_{question.pk}"


def _answers(questions, **overrides) -> dict[str, str]:
    posted = {
        _field(questions["complaints"]): "Болит зуб справа снизу, третий день",
        _field(questions["medicines"]): "yes",
        _field(questions["which"]): "Ибупрофен 200 мг",
        _field(questions["allergy"]): "1",  # "Да | Yes"
        _field(questions["discuss"]): "",
    }
    posted.update({_field(questions[key]): value for key, value in overrides.items()})
    return posted


def test_the_data_migration_seeds_a_bilingual_default_form(default_form):
    rows = list(default_form.questions.order_by("position"))
    assert default_form.is_active
    assert [q.text for q in rows] == [q[0] for q in DEFAULT_QUESTIONS]
    assert all(q.text_en for q in rows)
    assert {q.kind for q in rows} == {"text", "yes_no", "choice"}
    assert "аллерг" in rows[3].text.lower()


def test_link_round_trip_stores_the_answers_once_and_audits_it(client, visit, questions):
    path = screening_link_path(visit=visit)
    assert screening_link_url(visit=visit).endswith(path)
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert visit.patient.first_name in html
    assert visit.patient.last_name not in html  # the first name only
    assert visit.doctor.get_full_name() in html
    assert "11:00" in html
    assert 'data-testid="screening-send"' in html

    response = client.post(path, _answers(questions))
    assert response.status_code == 200
    assert 'data-testid="screening-thanks"' in response.content.decode()
    screening = Screening.objects.get(visit=visit)
    assert screening.answers == {
        str(questions["complaints"].pk): "Болит зуб справа снизу, третий день",
        str(questions["medicines"].pk): "yes",
        str(questions["which"].pk): "Ибупрофен 200 мг",
        str(questions["allergy"].pk): "Да",
    }
    assert [q["id"] for q in screening.questions] == list(
        ScreeningQuestion.objects.filter(form=screening.form)
        .order_by("position")
        .values_list("id", flat=True)
    )
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="journeys.Screening")
    assert (event.object_id, event.patient_id) == (str(screening.pk), visit.patient_id)
    assert "Ибупрофен" not in str(event.details)  # the log names the record, not its text
    # Opening the link again says it was sent.
    assert 'data-testid="screening-sent"' in client.get(path).content.decode()


def test_a_get_writes_nothing(client, visit, questions):
    path = screening_link_path(visit=visit)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
        assert client.get(path + "?lang=en").status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert statements
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in statements), statements
    assert not Screening.objects.exists()


def test_each_refused_answer_is_told_at_its_question_and_nothing_is_stored(
    client, visit, questions
):
    path = screening_link_path(visit=visit)
    too_long = "а" * (SCREENING_ANSWER_MAX_LENGTH + 1)
    response = client.post(
        path,
        _answers(questions, complaints="", medicines="maybe", allergy="7", discuss=too_long),
    )
    assert response.status_code == 400
    html = response.content.decode()
    for key, message in (
        ("complaints", "Пожалуйста, ответьте на этот вопрос."),
        ("medicines", "Выберите «да» или «нет»."),
        ("allergy", "Выберите один из вариантов."),
        ("discuss", "2000"),
    ):
        field = _field(questions[key])
        error = re.search(rf'<p[^>]*id="{field}-error"[^>]*role="alert"[^>]*>([^<]*)</p>', html)
        assert error, key
        assert message in error.group(1), (key, error.group(1))
        assert f'aria-describedby="{field}-error' in html
    # What the patient typed stays on the page.
    assert "Ибупрофен 200 мг" in html
    assert not Screening.objects.exists()

    missing = client.post(path, _answers(questions, medicines="", allergy=""))
    html = missing.content.decode()
    assert "Пожалуйста, выберите «да» или «нет»." in html
    assert "Пожалуйста, выберите один из вариантов." in html
    assert not Screening.objects.exists()


def test_the_page_follows_the_patients_language_and_switches_with_lang(client, visit, questions):
    visit.patient.preferred_language = "en"
    visit.patient.save()
    path = screening_link_path(visit=visit)
    english = client.get(path).content.decode()
    assert questions["complaints"].text_en in english
    assert 'lang="en"' in english
    russian = client.get(path + "?lang=ru").content.decode()
    assert questions["complaints"].text in russian
    refused = client.post(path, _answers(questions, complaints=""))
    assert "Please answer this question." in refused.content.decode()


def test_a_second_send_is_refused_and_the_first_answers_stand(client, visit, questions):
    path = screening_link_path(visit=visit)
    client.post(path, _answers(questions))
    again = client.post(path, _answers(questions, complaints="Совсем другое"))
    assert 'data-testid="screening-sent"' in again.content.decode()
    screening = Screening.objects.get(visit=visit)
    assert screening.answers[str(questions["complaints"].pk)].startswith("Болит зуб")
    # Nor can any other code path change them: the table refuses updates.
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Screening.objects.filter(pk=screening.pk).update(answers={})


def test_expired_and_forged_links_show_a_clear_page(client, visit, time_machine, settings):
    path = screening_link_path(visit=visit)
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    page = client.get(forged)
    assert page.status_code == 404
    assert "Ссылка недействительна" in page.content.decode()
    time_machine.move_to(
        timezone.now() + timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS + 1), tick=False
    )
    expired = client.get(path + "?lang=en")
    assert expired.status_code == 404
    assert "This link has expired" in expired.content.decode()
    assert client.post(path, {}).status_code == 404
    assert not Screening.objects.exists()


def test_the_form_closes_once_the_visit_has_started(client, visit, questions, time_machine):
    path = screening_link_path(visit=visit)
    time_machine.move_to(visit.starts_at + timedelta(minutes=1), tick=False)
    page = client.get(path + "?lang=en")
    html = page.content.decode()
    assert 'data-testid="screening-closed"' in html
    assert "tell the doctor in person" in html
    assert 'data-testid="screening-send"' not in html
    posted = client.post(path, _answers(questions))
    assert 'data-testid="screening-closed"' in posted.content.decode()
    assert not Screening.objects.exists()


def test_a_cancelled_visit_has_no_form(client, clinic, visit, questions):
    visit_cancel(actor=clinic.admin, visit=visit, by_patient=True, reason="Уехала")
    page = client.get(screening_link_path(visit=visit) + "?lang=en").content.decode()
    assert "This visit was cancelled" in page
    client.post(screening_link_path(visit=visit), _answers(questions))
    assert not Screening.objects.exists()


def test_a_service_with_its_own_form_asks_that_one_until_it_is_switched_off(
    client, clinic, visit, default_form
):
    own = ScreeningForm.objects.create(service=clinic.service, title="Перед операцией")
    ScreeningQuestion.objects.create(
        form=own, text="Вы принимаете антикоагулянты?", kind="yes_no", required=True
    )
    path = screening_link_path(visit=visit)
    page = client.get(path).content.decode()
    assert "антикоагулянты" in page
    assert default_form.questions.first().text not in page
    own.is_active = False
    own.save()
    page = client.get(path).content.decode()
    assert "антикоагулянты" not in page
    assert default_form.questions.first().text in page


# --- the doctor reads the answers ------------------------------------------------------


def _today_at(hour: int) -> datetime:
    return datetime.combine(
        timezone.localdate(), time(hour), tzinfo=timezone.get_current_timezone()
    )


def _answered_visit(clinic, form, start, *, complaint: str) -> Visit:
    patient = PatientFactory(home_branch=clinic.branch)
    visit = clinic_visit(clinic, start, patient=patient)
    questions = list(form.questions.order_by("position"))
    Screening.objects.create(
        visit=visit,
        form=form,
        questions=[q.asked() for q in questions],
        answers={str(questions[0].pk): complaint, str(questions[1].pk): "no"},
    )
    return visit


def test_the_doctors_day_shows_the_answers_escaped(clinic, default_form):
    visit = _answered_visit(clinic, default_form, _today_at(9), complaint=HOSTILE)
    clinic_visit(clinic, _today_at(10), patient=PatientFactory(home_branch=clinic.branch))
    page = client_for(clinic.doctor, "en").get("/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="screening-badge"') == 1
    assert "Questionnaire" in html
    assert DEFAULT_QUESTIONS[0][1] in html  # the question in the doctor's language
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert HOSTILE not in html
    assert "<img src=x" not in html
    assert visit.patient.full_name in html


def test_the_doctors_day_reads_the_answers_in_the_same_queries(clinic, default_form):
    client = client_for(clinic.doctor, "en")
    _answered_visit(clinic, default_form, _today_at(8), complaint="Болит")
    client.get("/")  # warm the session and caches

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    one = count()
    for hour in range(9, 13):
        _answered_visit(clinic, default_form, _today_at(hour), complaint=f"Жалоба {hour}")
    five = count()
    assert five == one
    assert client.get("/").content.decode().count('data-testid="screening-badge"') == 5


def test_the_timeline_shows_the_answers_with_the_visit_escaped(clinic, default_form):
    visit = clinic_visit(clinic, tomorrow_at(11))
    questions = list(default_form.questions.order_by("position"))
    questions[0].text = "<b>Жалобы</b>"  # a manager's text is escaped too
    Screening.objects.create(
        visit=visit,
        form=default_form,
        questions=[q.asked() for q in questions],
        answers={str(questions[0].pk): HOSTILE + "\nвторая строка"},
    )
    doctor = client_for(clinic.doctor, "ru")
    page = doctor.get(reverse("journeys:timeline", args=[clinic.patient.pk]))
    html = page.content.decode()
    upcoming = html.split('data-testid="upcoming-visits"', 1)[1].split("</ul>", 1)[0]
    assert 'data-testid="screening-answers"' in upcoming
    assert "&lt;b&gt;Жалобы&lt;/b&gt;" in upcoming
    assert "&lt;script&gt;" in upcoming
    assert "<br>вторая строка" in upcoming
    assert HOSTILE not in html
    assert "без ответа" in upcoming  # questions left out show as such
    assert AuditEvent.objects.filter(
        actor=clinic.doctor, patient_id=clinic.patient.pk, details__page="timeline"
    ).exists()


def test_a_doctor_of_another_branch_sees_no_timeline(clinic, default_form, make_staff):
    from tests.factories import BranchFactory

    visit = _answered_visit(clinic, default_form, tomorrow_at(11), complaint="секрет")
    outsider = make_staff(branch=BranchFactory(name="Other"))
    page = client_for(outsider).get(reverse("journeys:timeline", args=[visit.patient_id]))
    assert page.status_code == 404


# --- the reminder links it -------------------------------------------------------------


@pytest.fixture
def morning(time_machine, settings):
    settings.PUBLIC_BASE_URL = "https://crm.example"
    time_machine.move_to(MORNING, tick=False)
    return MORNING


def _email_patient(patient, language: str = "ru") -> None:
    patient.preferred_channel = "email"
    patient.email = "anna@example.org"
    patient.preferred_language = language
    patient.save()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_day_before_reminder_carries_the_questionnaire_link(client, clinic, morning, language):
    _email_patient(clinic.patient, language)
    visit = book(clinic, starts_at=tomorrow_at(11))
    message = Message.objects.get(journey__visit=visit)
    assert message.scheduled_for == visit.starts_at - timedelta(hours=24)
    assert message.channel == "email"
    line = {
        "ru": "Анкета перед визитом (2 минуты): ",
        "en": "Questionnaire before your visit (2 minutes): ",
    }[language]
    assert f"{line}{screening_link_url(visit=visit)}\n" in message.body
    # The link in the message opens the form.
    page = client.get(urlsplit(screening_link_url(visit=visit)).path)
    assert 'data-testid="screening-send"' in page.content.decode()


def test_a_short_sms_reminder_leaves_the_link_out(clinic, morning):
    visit = book(clinic, starts_at=tomorrow_at(11))
    message = Message.objects.get(journey__visit=visit)
    assert message.channel == "sms"
    assert "/p/screening/" not in message.body


def test_no_link_when_no_form_applies(clinic, morning, default_form):
    default_form.is_active = False
    default_form.save()
    _email_patient(clinic.patient)
    visit = book(clinic, starts_at=tomorrow_at(11))
    body = Message.objects.get(journey__visit=visit).body
    assert "/p/screening/" not in body
    assert "Анкета" not in body
    # Another service's form doesn't count for this one.
    other = ScreeningForm.objects.create(service=ServiceFactory(), title="Другая")
    ScreeningQuestion.objects.create(form=other, text="?", kind="text")
    later = book(clinic, starts_at=tomorrow_at(15))
    assert "/p/screening/" not in Message.objects.get(journey__visit=later).body


def test_a_visit_already_answered_is_not_asked_again(clinic, morning, default_form):
    _email_patient(clinic.patient)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=tomorrow_at(11),
        ends_at=tomorrow_at(11) + timedelta(minutes=30),
    )
    Screening.objects.create(visit=visit, form=default_form, questions=[], answers={})
    from journeys.services.messages import visit_reminders_plan

    [message] = visit_reminders_plan(visit=visit)
    assert "/p/screening/" not in message.body


def test_managers_keep_the_forms_in_the_admin(clinic, default_form):
    manager = client_for(clinic.manager, "ru")
    listing = manager.get("/admin/journeys/screeningform/")
    assert listing.status_code == 200
    assert default_form.title in listing.content.decode()
    change = manager.get(f"/admin/journeys/screeningform/{default_form.pk}/change/")
    assert change.status_code == 200
    assert DEFAULT_QUESTIONS[0][0] in change.content.decode()
    assert client_for(clinic.doctor).get("/admin/journeys/screeningform/").status_code in (
        302,
        403,
    )
