"""What the app stores is shown in the reader's language: a task opened by a rule while
Russian was active reads English to an English reader (and the other way round), on the
worklist and the timeline; every kind of journey event is written from its data in both
languages; rows stored before the data fall back to their stored words."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone, translation

from feedback.services import survey_response_record
from journeys.models import Handoff, JourneyEvent, Task, Visit
from journeys.services.handoffs import handoff_create
from journeys.services.visit_status import visit_mark_no_show
from journeys.services.worklist import rule_handoffs_not_booked, rule_stalled_journeys
from journeys.texts_builtin import TaskText
from tests.conftest import verified_client_for
from tests.journeys.factories import HandoffFactory, VisitFactory, accepted_plan, clinic_visit

pytestmark = pytest.mark.django_db


def _client(user, language: str):
    client = verified_client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def _in(language: str, obj, attribute: str) -> str:
    with translation.override(language):
        return getattr(obj, attribute)


def _no_show(c, *, language: str) -> tuple[Task, Visit]:
    _plan, stages = accepted_plan(c)
    visit = clinic_visit(c, timezone.now() - timedelta(hours=1), stage=stages[0])
    with translation.override(language):
        visit_mark_no_show(actor=c.admin, visit=visit)
    return Task.objects.get(kind=Task.Kind.REBOOK, patient=c.patient), visit


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%d.%m %H:%M")


# --- tasks on the worklist --------------------------------------------------------------


def test_a_task_opened_in_russian_reads_english_on_an_english_worklist(clinic):
    task, visit = _no_show(clinic, language="ru")
    when = _local(visit.starts_at)
    assert task.title == f"Неявка {when}: позвонить и записать снова"  # stored, for search
    assert task.title_key == TaskText.REBOOK_NO_SHOW

    english = _page(_client(clinic.curator, "en"), "/worklist/")
    assert f"No-show on {when}: call and rebook" in english
    assert "Неявка" not in english
    russian = _page(_client(clinic.curator, "ru"), "/worklist/")
    assert f"Неявка {when}: позвонить и записать снова" in russian


def test_a_task_opened_in_english_reads_russian_on_a_russian_worklist(clinic):
    plan, stages = accepted_plan(clinic)
    handoff = HandoffFactory(
        patient=clinic.patient,
        plan=plan,
        from_doctor=clinic.doctor,
        to_specialty=clinic.surgery,
        curator=clinic.curator,
    )
    Handoff.objects.filter(pk=handoff.pk).update(created_at=timezone.now() - timedelta(days=10))
    with translation.override("en"):
        rule_handoffs_not_booked(patient_id=clinic.patient.pk)
    task = Task.objects.get(kind=Task.Kind.HANDOFF_NOT_BOOKED)
    assert task.title == "Book the Surgery visit (handoff)"

    russian = _page(_client(clinic.curator, "ru"), "/worklist/")
    assert _in("ru", task, "display_title") in russian
    assert "Записать на приём: Surgery (передача пациента)" in russian
    assert "Book the Surgery visit" not in russian


def test_a_stalled_journey_counts_its_days_in_each_language(clinic):
    plan, stages = accepted_plan(clinic)
    stages[0].window_end = timezone.localdate() - timedelta(days=10)
    stages[0].save(update_fields=["window_end"])
    with translation.override("ru"):
        rule_stalled_journeys(patient_id=clinic.patient.pk)
    task = Task.objects.get(kind=Task.Kind.STALLED_JOURNEY)
    assert task.title_params == {"stage": "Step 0", "days": 10}
    assert _in("en", task, "display_title") == "Stopped before “Step 0”, 10 days overdue"
    assert _in("ru", task, "display_title") == (
        "Остановка перед этапом «Step 0», просрочено на 10 дней"
    )
    task.title_params = {"stage": "Step 0", "days": 1}
    assert _in("en", task, "display_title") == "Stopped before “Step 0”, 1 day overdue"
    assert _in("ru", task, "display_title").endswith("просрочено на 1 день")
    task.title_params = {"stage": "Step 0", "days": 3}
    assert _in("ru", task, "display_title").endswith("просрочено на 3 дня")


def test_a_recovery_task_of_feedback_is_written_by_its_registered_renderer(clinic, visit_survey):
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        status=Visit.Status.COMPLETED,
        starts_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    )
    with translation.override("ru"):
        response = survey_response_record(
            survey=visit_survey,
            visit=visit,
            channel="sms",
            nps_score=3,
            answers={"waiting": 1},
            comment="Долго ждал",
        )
    task = response.recovery_task
    assert task.title.startswith("Позвонить пациенту в течение 24 часов")
    when = _local(visit.starts_at)
    english = _page(_client(clinic.curator, "en"), "/worklist/")
    assert f"Call the patient within 24 hours: unhappy with the visit of {when}" in english
    assert "Позвонить пациенту" not in english

    # and the feedback on the timeline, with the aspect's English name
    event = JourneyEvent.objects.get(kind=JourneyEvent.Kind.FEEDBACK, visit=visit)
    assert _in("en", event, "display_summary") == (
        "Negative feedback: would recommend: 3 of 10; Waiting time: 1/5"
    )
    assert _in("ru", event, "display_summary") == (
        "Негативный отзыв: готовность рекомендовать: 3 из 10; Время ожидания: 1/5"
    )


def test_a_task_without_a_renderer_shows_its_stored_title(clinic):
    manual = Task.objects.create(
        kind=Task.Kind.OTHER,
        patient=clinic.patient,
        assignee=clinic.curator,
        branch=clinic.branch,
        cause_key="manual:1",
        title="Позвонить по поводу счёта",
        due_at=timezone.now() + timedelta(hours=3),
    )
    unknown = Task.objects.create(
        kind=Task.Kind.OTHER,
        patient=clinic.patient,
        assignee=clinic.curator,
        branch=clinic.branch,
        cause_key="manual:2",
        title="Старая задача",
        title_key="no_such_renderer",
        title_params={"x": 1},
        due_at=timezone.now() + timedelta(hours=3),
    )
    broken = Task.objects.create(
        kind=Task.Kind.REBOOK,
        patient=clinic.patient,
        assignee=clinic.curator,
        branch=clinic.branch,
        cause_key="manual:3",
        title="Неявка: записать снова",
        title_key=TaskText.REBOOK_NO_SHOW,
        title_params={"when": "not a time"},
        due_at=timezone.now() + timedelta(hours=3),
    )
    english = _page(_client(clinic.curator, "en"), "/worklist/")
    for task in (manual, unknown, broken):
        assert task.title in english


# --- journey events on the timeline -----------------------------------------------------


def test_a_visit_status_written_in_russian_reads_english_on_the_timeline(clinic):
    task, visit = _no_show(clinic, language="ru")
    event = JourneyEvent.objects.get(kind=JourneyEvent.Kind.VISIT_STATUS, visit=visit)
    assert event.summary == "Неявка"  # the words of the writer's language, kept

    english = _page(_client(clinic.doctor, "en"), f"/patients/{clinic.patient.pk}/timeline/")
    assert "Visit status changed" in english
    assert '<div data-testid="event-text">No-show</div>' in english
    assert "Неявка" not in english
    russian = _page(_client(clinic.doctor, "ru"), f"/patients/{clinic.patient.pk}/timeline/")
    assert '<div data-testid="event-text">Неявка</div>' in russian


def test_an_event_written_in_english_reads_russian_on_the_timeline(clinic):
    plan, _stages = accepted_plan(clinic)
    due = timezone.localdate() + timedelta(days=5)
    with translation.override("en"):
        handoff_create(
            actor=clinic.doctor,
            patient=clinic.patient,
            from_doctor=clinic.doctor,
            to_specialty=clinic.surgery,
            reason="Wisdom tooth",
            due_date=due,
            plan=plan,
        )
    russian = _page(_client(clinic.doctor, "ru"), f"/patients/{clinic.patient.pk}/timeline/")
    day = due.strftime("%d.%m" if due.year == timezone.localdate().year else "%d.%m.%Y")
    assert f"Направление: Surgery, записать до {day}: Wisdom tooth" in russian


def _event(kind: str, *, data: dict, summary: str = "stored words") -> JourneyEvent:
    return JourneyEvent(kind=kind, data=data, summary=summary, at=timezone.now())


THIS_YEAR = timezone.localdate().year
AT = datetime(THIS_YEAR, 3, 14, 9, 30, tzinfo=UTC)  # 12:30 in Moscow
LATER = datetime(THIS_YEAR, 3, 16, 7, 0, tzinfo=UTC)  # 10:00 in Moscow

EVENTS = [
    (
        JourneyEvent.Kind.VISIT_STATUS,
        {"from": "arrived", "to": "completed"},
        "Завершён",
        "Completed",
        "Завершён",
    ),
    (
        JourneyEvent.Kind.VISIT_STATUS,
        {"from": "scheduled", "to": "cancelled_by_patient", "reason": "Заболел"},
        "Cancelled by patient",
        "Cancelled by patient: Заболел",
        "Отменён пациентом: Заболел",
    ),
    (
        JourneyEvent.Kind.VISIT_MOVED,
        {"old": {"starts_at": AT.isoformat()}, "new": {"starts_at": LATER.isoformat()}},
        "Braces check · Dr · Central · 16.03.2026 10:00",
        "14.03 12:30 → 16.03 10:00",
        "14.03 12:30 → 16.03 10:00",
    ),
    (
        JourneyEvent.Kind.PLAN_COMPLETED,
        {"recall_due_on": f"{THIS_YEAR + 1}-06-01", "observation_months": 6},
        "",
        f"Check-up due on 01.06.{THIS_YEAR + 1}",
        f"Контрольный осмотр — до 01.06.{THIS_YEAR + 1}",
    ),
    (
        JourneyEvent.Kind.CHECK_UP_PLANNED,
        {"recall_due_on": f"{THIS_YEAR + 1}-06-01", "observation_months": 6},
        "Чистка",
        f"Чистка: check-up due on 01.06.{THIS_YEAR + 1}",
        f"Чистка: контрольный осмотр до 01.06.{THIS_YEAR + 1}",
    ),
    (
        JourneyEvent.Kind.HANDOFF_CREATED,
        {"to_specialty": "Хирургия", "due_date": f"{THIS_YEAR}-03-20"},
        "Удалить зуб мудрости",
        "To Хирургия, book by 20.03: Удалить зуб мудрости",
        "Направление: Хирургия, записать до 20.03: Удалить зуб мудрости",
    ),
    (
        JourneyEvent.Kind.HANDOFF_UPDATED,
        {"state": "lost"},
        "Не отвечает",
        "Lost: Не отвечает",
        "Упущена: Не отвечает",
    ),
    (
        JourneyEvent.Kind.FEEDBACK,
        {"follow_up": "unwell", "comment": "Болит"},
        "Самочувствие плохое после визита",
        "Feels unwell after the visit: Болит",
        None,  # the Russian wording is whatever the catalogue says; checked below
    ),
    (
        JourneyEvent.Kind.FEEDBACK,
        {
            "response": 1,
            "nps": 10,
            "answers": {"communication": 5},
            "attribute_names": {
                "communication": {"ru": "Общение с врачом", "en": "Communication with the doctor"}
            },
            "negative": False,
            "comment": "",
        },
        "Отзыв: …",
        "Feedback: would recommend: 10 of 10; Communication with the doctor: 5/5",
        "Обратная связь: готовность рекомендовать: 10 из 10; Общение с врачом: 5/5",
    ),
    (
        JourneyEvent.Kind.TASK,
        {"task": 1, "task_kind": "rebook", "action": "closed", "outcome": "Записан на 20.03"},
        "",
        "Rebook a missed or cancelled visit — Closed: Записан на 20.03",
        None,
    ),
    (
        JourneyEvent.Kind.TASK,
        {"task": 1, "task_kind": "rebook", "action": "assigned", "assignee_name": "Анна Петрова"},
        "",
        "Rebook a missed or cancelled visit — Handed over to Анна Петрова",
        None,
    ),
]


@pytest.mark.parametrize(("kind", "data", "stored", "english", "russian"), EVENTS)
def test_each_event_kind_is_written_from_its_data_in_both_languages(
    kind, data, stored, english, russian, django_assert_num_queries
):
    event = _event(kind, data=data, summary=stored)
    with django_assert_num_queries(0):  # drawn from the row alone: a timeline stays flat
        shown_en = _in("en", event, "display_summary")
        shown_ru = _in("ru", event, "display_summary")
    assert shown_en == english
    if russian is not None:
        assert shown_ru == russian
    assert shown_ru != shown_en or kind == JourneyEvent.Kind.VISIT_MOVED


@pytest.mark.parametrize(
    ("kind", "data", "stored"),
    [
        # rows written before the data was stored
        (JourneyEvent.Kind.VISIT_STATUS, {}, "Visit status changed — Завершён"),
        (JourneyEvent.Kind.HANDOFF_CREATED, {}, "Нужен ортопед"),
        (JourneyEvent.Kind.VISIT_MOVED, {"old": {}, "new": {}}, "Чистка · 16.03 10:00"),
        (
            JourneyEvent.Kind.FEEDBACK,
            {"response": 1, "nps": 3, "answers": {"waiting": 1}, "comment": ""},
            "Негативный отзыв: порекомендовал бы: 3 из 10; Время ожидания: 1/5",
        ),
        (JourneyEvent.Kind.VISIT_STATUS, {"to": "no_such_status"}, "Завершён"),
        # kinds whose summary is what staff typed (a note, a title): shown as typed
        (JourneyEvent.Kind.NOTE, {}, "Пациент просит звонить после 18:00"),
        (JourneyEvent.Kind.PLAN_CREATED, {}, "Исправление прикуса"),
    ],
)
def test_old_rows_and_typed_text_fall_back_to_the_stored_words(kind, data, stored):
    event = _event(kind, data=data, summary=stored)
    assert _in("en", event, "display_summary") == stored
    assert _in("ru", event, "display_summary") == stored


def test_the_follow_up_and_task_events_read_russian_too():
    unwell = _event(JourneyEvent.Kind.FEEDBACK, data={"follow_up": "unwell", "comment": ""})
    with translation.override("ru"):
        assert unwell.display_summary == translation.gettext("Feels unwell after the visit")
        assert unwell.display_summary != "Feels unwell after the visit"
    closed = _event(
        JourneyEvent.Kind.TASK, data={"task_kind": "rebook", "action": "closed", "outcome": "Ok"}
    )
    assert _in("ru", closed, "display_summary").endswith("— Закрыта: Ok")


# --- tasks stored before the title's data: the data migration ---------------------------


def _old_task(c, *, kind: str, cause: str, title: str, **fields) -> Task:
    return Task.objects.create(
        kind=kind,
        patient=c.patient,
        branch=c.branch,
        cause_key=cause,
        title=title,
        due_at=timezone.now() + timedelta(hours=4),
        **fields,
    )


def test_the_data_migration_gives_old_tasks_their_data_where_the_cause_says_enough(clinic):
    visit = clinic_visit(clinic, datetime(THIS_YEAR, 3, 14, 9, 30, tzinfo=UTC))
    plan, _stages = accepted_plan(clinic)
    handoff = HandoffFactory(
        patient=clinic.patient, from_doctor=clinic.doctor, to_specialty=clinic.surgery
    )
    old = {
        "noshow": _old_task(
            clinic,
            kind=Task.Kind.REBOOK,
            cause=f"noshow:{visit.pk}",
            title="Неявка 14.03.2026 12:30: позвонить и записать снова",
        ),
        "feedback": _old_task(
            clinic,
            kind=Task.Kind.NEGATIVE_FEEDBACK,
            cause=f"negative_feedback:visit:{visit.pk}",
            title="Позвонить пациенту в течение 24 часов: недоволен визитом 14.03 12:30",
        ),
        "slot": _old_task(
            clinic,
            kind=Task.Kind.SLOT_OFFER,
            cause=f"slot:{visit.pk}",
            title="Предложить освободившееся время 14.03 12:30, врач X",
        ),
        "handoff": _old_task(
            clinic,
            kind=Task.Kind.HANDOFF_NOT_BOOKED,
            cause=f"handoff:{handoff.pk}",
            title="Записать на приём: Surgery (передача пациента)",
        ),
        "recall": _old_task(
            clinic,
            kind=Task.Kind.RECALL_DUE,
            cause=f"recall:plan:{plan.pk}:{THIS_YEAR}-01-01",
            title="Пригласить на контрольный осмотр после «Braces»",
        ),
        "stalled": _old_task(
            clinic,
            kind=Task.Kind.STALLED_JOURNEY,
            cause=f"stalled:plan:{plan.pk}",
            title="Остановка перед этапом «Step 1», просрочено на 12 дн.",
        ),
        "manual": _old_task(
            clinic, kind=Task.Kind.OTHER, cause="manual:7", title="Перезвонить по счёту"
        ),
        "gone": _old_task(
            clinic, kind=Task.Kind.REBOOK, cause="noshow:999999", title="Неявка: записать"
        ),
    }
    migration = importlib.import_module("journeys.migrations.0016_task_title_as_data")
    migration.tasks_title_as_data(apps, None)
    for task in old.values():
        task.refresh_from_db()

    with translation.override("en"):
        shown = {name: task.display_title for name, task in old.items()}
    assert shown["noshow"] == "No-show on 14.03 12:30: call and rebook"
    assert shown["feedback"] == (
        "Call the patient within 24 hours: unhappy with the visit of 14.03 12:30"
    )
    assert shown["slot"] == f"Offer the freed slot 14.03 12:30 with {clinic.doctor}"
    assert shown["handoff"] == "Book the Surgery visit (handoff)"
    assert shown["recall"] == "Invite for the check-up after “Braces”"
    assert shown["stalled"] == "Stopped before “Step 1”, 12 days overdue"
    # nothing to derive from: the stored title stays what is shown
    assert shown["manual"] == "Перезвонить по счёту"
    assert shown["gone"] == "Неявка: записать"
    assert old["manual"].title_key == old["gone"].title_key == ""

    # running it again changes nothing
    migration.tasks_title_as_data(apps, None)
    assert Task.objects.get(pk=old["noshow"].pk).title_params == old["noshow"].title_params
