"""The journey summary on the patient card: what each role reads there, which actions it
is offered (each a link into an existing page), and what the card costs."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from journeys.models import Stage, Task, TreatmentPlan, Visit
from patients import card
from patients.models import Patient
from tests.conftest import verified_client_for
from tests.factories import BranchFactory, PatientFactory
from tests.journeys.factories import (
    HandoffFactory,
    PlanOptionFactory,
    StageFactory,
    TreatmentPlanFactory,
    accepted_plan,
    clinic_visit,
)
from tests.patients.factories import ConsentRecordFactory

pytestmark = pytest.mark.django_db


def _client(user, language: str = "en"):
    client = verified_client_for(user)
    client.cookies["django_language"] = language
    return client


def _card(user, patient, language: str = "en") -> str:
    response = _client(user, language).get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    return response.content.decode()


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Texts(HTMLParser):
    """The text of every element marked ``data-testid=testid``, whitespace collapsed."""

    def __init__(self, testid: str):
        super().__init__()
        self.testid, self.open, self.found = testid, [], []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        for entry in self.open:
            entry[0] += 1
        if dict(attrs).get("data-testid") == self.testid:
            self.open.append([1, []])

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        for entry in list(self.open):
            entry[0] -= 1
            if entry[0] == 0:
                self.open.remove(entry)
                self.found.append(" ".join("".join(entry[1]).split()))

    def handle_data(self, data):
        for entry in self.open:
            entry[1].append(data)


def _texts(page: str, testid: str) -> list[str]:
    parser = _Texts(testid)
    parser.feed(page)
    return parser.found


def _text(page: str, testid: str) -> str:
    [text] = _texts(page, testid)
    return text


def _hrefs(page: str, testid: str) -> list[str]:
    """The href of every link marked ``data-testid=testid`` (attributes in any order)."""
    links = re.findall(rf'<a\b[^>]*data-testid="{testid}"[^>]*>', page)
    return [re.search(r'href="([^"]*)"', link).group(1).replace("&amp;", "&") for link in links]


def _task(c, *, kind=Task.Kind.STALLED_JOURNEY, title="Call about the braces", due=None, **kw):
    return Task.objects.create(
        kind=kind,
        patient=kw.pop("patient", c.patient),
        assignee=kw.pop("assignee", c.curator),
        cause_key=kw.pop("cause_key", f"test:{kind}:{title}"),
        title=title,
        due_at=due or timezone.now() + timedelta(hours=4),
        branch=c.branch,
        **kw,
    )


def _journey(c):
    """An accepted plan waiting for its first stage, a visit done last week, the next one
    booked, an open task and an open handoff."""
    plan, stages = accepted_plan(c, stages=3)
    now = timezone.now()
    last = clinic_visit(c, now - timedelta(days=7), status=Visit.Status.COMPLETED)
    upcoming = clinic_visit(c, (now + timedelta(days=3)).replace(minute=0, second=0, microsecond=0))
    task = _task(c, plan=plan)
    handoff = HandoffFactory(
        patient=c.patient,
        plan=plan,
        from_doctor=c.doctor,
        to_specialty=c.surgery,
        curator=c.curator,
        reason="Wisdom tooth to take out",
    )
    return plan, stages, last, upcoming, task, handoff


# --- what the card says ------------------------------------------------------------------


def test_card_summarises_plan_stage_visits_tasks_handoffs_and_consents(clinic):
    plan, stages, last, upcoming, task, handoff = _journey(clinic)
    other = PatientFactory(home_branch=clinic.branch)
    TreatmentPlanFactory(
        patient=other, branch=clinic.branch, lead_doctor=clinic.doctor, title="Not theirs"
    )
    ConsentRecordFactory(patient=clinic.patient, kind="reminders", channel="sms", granted=True)
    ConsentRecordFactory(patient=clinic.patient, kind="marketing", channel="email", granted=False)

    page = _card(clinic.admin, clinic.patient)

    plans = _text(page, "card-plans")
    assert plan.title in plans
    assert "Accepted" in plans
    assert "0 of 3 stages done" in plans
    stage = _text(page, "card-stage")
    assert stage.startswith(f"Next stage: {stages[0].title} · Orthodontics Planned")
    window = _text(page, "card-stage-window")
    assert window == f"Expected: {stages[0].window_start:%d.%m}–{stages[0].window_end:%d.%m}" or (
        window.endswith(f"{stages[0].window_end:%d.%m.%Y}")  # the window ends next year
    )
    assert _hrefs(page, "card-plan-link") == [f"/plans/{plan.pk}/"]
    assert "Not theirs" not in page  # another patient's plan stays on their card

    local = timezone.localtime(upcoming.starts_at, ZoneInfo(clinic.branch.time_zone))
    next_visit = _text(page, "card-next-visit")
    assert f"{local:%H:%M}–" in next_visit
    assert "Scheduled" in next_visit
    assert f"{clinic.service.name} · {clinic.doctor}" in next_visit
    assert clinic.branch.name in next_visit
    last_visit = _text(page, "card-last-visit")
    assert "Completed" in last_visit
    assert f"{timezone.localtime(last.starts_at):%d.%m}" in last_visit

    [shown_task] = _texts(page, "card-task")
    assert shown_task.startswith(f"Stalled journey {task.title} Due ")
    assert f"· {clinic.curator}" in shown_task
    [shown_handoff] = _texts(page, "card-handoff")
    assert shown_handoff.startswith(f"{clinic.doctor} → Surgery {handoff.reason} Book by ")

    consents = page.split('data-testid="card-consents"')[1].split("</div>")[0]
    assert re.search(r'data-granted="1">\s*<i class="bi bi-check-lg"', consents)
    assert re.search(r'data-granted="0">\s*<i class="bi bi-x-lg"', consents)
    assert len(_texts(page, "card-consent")) == 2


def test_visit_times_are_in_the_branch_zone(clinic):
    east = BranchFactory(name="Vladivostok", time_zone="Asia/Vladivostok")
    zone = ZoneInfo("Asia/Vladivostok")
    day = timezone.localtime(timezone.now(), zone).date() + timedelta(days=2)
    starts = datetime.combine(day, time(10, 0), tzinfo=zone)  # 03:00 in Moscow
    clinic_visit(clinic, starts, branch=east)

    page = _card(clinic.manager, clinic.patient)

    shown = _text(page, "card-visit-when")
    assert shown.endswith(("10:00–10:30",))
    assert f"{day:%d.%m}" in shown
    assert "03:00" not in shown


def test_a_stage_in_progress_is_shown_as_the_current_stage(clinic):
    plan, stages = accepted_plan(clinic, stages=2)
    Stage.objects.filter(pk=stages[0].pk).update(status=Stage.Status.IN_PROGRESS)
    TreatmentPlan.objects.filter(pk=plan.pk).update(status=TreatmentPlan.Status.IN_PROGRESS)

    page = _card(clinic.curator, clinic.patient)

    stage = _text(page, "card-stage")
    assert stage.startswith(f"Current stage: {stages[0].title} · Orthodontics In progress")


def test_a_proposed_plan_awaits_the_decision_that_the_plan_page_records(clinic):
    plan = TreatmentPlanFactory(
        patient=clinic.patient,
        branch=clinic.branch,
        lead_doctor=clinic.doctor,
        status=TreatmentPlan.Status.PROPOSED,
    )
    PlanOptionFactory(plan=plan)
    PlanOptionFactory(plan=plan)

    admin_page = _card(clinic.admin, clinic.patient)
    manager_page = _card(clinic.manager, clinic.patient)

    assert "2 options, awaiting the patient's decision" in admin_page
    assert _hrefs(admin_page, "card-plan-decide") == [f"/plans/{plan.pk}/"]
    assert "2 options, awaiting the patient's decision" in manager_page
    assert _hrefs(manager_page, "card-plan-decide") == []


def test_empty_journey_says_so_in_plain_words_with_a_way_to_book(clinic):
    page = _card(clinic.admin, clinic.patient)

    assert "No active plan." in page
    assert "No visit booked" in page
    assert _hrefs(page, "card-book-empty") == _hrefs(page, "card-book")
    assert len(_hrefs(page, "card-book")) == 1
    assert "No visits yet." in page
    assert "No open tasks." in page
    assert "No open handoffs." in page


def test_the_summary_speaks_russian_by_default(clinic):
    accepted_plan(clinic, stages=1)
    page = _card(clinic.admin, clinic.patient, language="ru")

    assert "Следующий этап" in page
    assert "Визит не назначен" in page
    assert "Нет открытых задач." in page


# --- actions per role ---------------------------------------------------------------------


def test_administrator_books_the_stage_to_book_from_the_card(clinic):
    plan, stages, *_rest = _journey(clinic)
    client = _client(clinic.admin)
    page = client.get(f"/patients/{clinic.patient.pk}/").content.decode()

    [book] = _hrefs(page, "card-book")
    assert book == _hrefs(page, "card-book-stage")[0]
    url = urlsplit(book)
    assert url.path == "/calendar/slots/"
    assert parse_qs(url.query) == {
        "patient": [str(clinic.patient.pk)],
        "stage": [str(stages[0].pk)],
        "specialty": [str(clinic.ortho.pk)],
        "branch": [str(clinic.branch.pk)],
    }
    finder = client.get(book).content.decode()
    booking_for = finder.split('data-testid="booking-for"')[1].split("</div>")[0]
    assert clinic.patient.full_name in booking_for
    assert stages[0].title in booking_for
    assert f'<option value="{clinic.service.pk}" selected' in finder  # the stage's service


def test_administrator_books_a_handoff_from_the_card(clinic):
    _plan, _stages, _last, _next, _task_, handoff = _journey(clinic)
    page = _card(clinic.admin, clinic.patient)

    [url] = _hrefs(page, "card-book-handoff")
    assert parse_qs(urlsplit(url).query) == {
        "patient": [str(clinic.patient.pk)],
        "handoff": [str(handoff.pk)],
        "specialty": [str(clinic.surgery.pk)],
        "branch": [str(clinic.branch.pk)],
    }


def test_next_visit_is_moved_and_cancelled_by_the_front_desk_of_its_branch_only(world, make_staff):
    Visit.objects.filter(pk=world.visit.pk).update(status=Visit.Status.COMPLETED)
    desk_a = make_staff(Role.ADMINISTRATOR, branch=world.a)

    page_c = _card(world.admin_c, world.p)
    page_a = _card(desk_a, world.p)

    move = re.search(r'data-testid="card-visit-move"\s+hx-get="([^"]+)"', page_c)
    cancel = re.search(r'data-testid="card-visit-cancel"\s+hx-get="([^"]+)"', page_c)
    assert move.group(1) == f"/visits/{world.visit_c.pk}/move/"
    assert cancel.group(1) == f"/visits/{world.visit_c.pk}/cancel/"
    assert 'id="visit-modal"' in page_c
    client = _client(world.admin_c)
    assert client.get(move.group(1), headers={"HX-Request": "true"}).status_code == 200
    # Branch A's desk sees the patient and may book, but C's visit is C's to change.
    assert f'data-visit-id="{world.visit_c.pk}"' in page_a
    assert 'data-testid="card-visit-move"' not in page_a
    assert 'data-testid="card-visit-cancel"' not in page_a
    assert _hrefs(page_a, "card-book")


def test_manager_reads_the_summary_and_is_offered_no_write_action(clinic):
    plan, stages, last, upcoming, task, handoff = _journey(clinic)

    page = _card(clinic.manager, clinic.patient)

    assert plan.title in page
    assert task.title in page
    assert handoff.reason in page
    assert f'data-visit-id="{upcoming.pk}"' in page
    for action in (
        "card-book",
        "card-book-stage",
        "card-book-handoff",
        "card-book-empty",
        "card-visit-move",
        "card-visit-cancel",
        "card-visit-complete",
        "card-plan-decide",
    ):
        assert f'data-testid="{action}"' not in page, action
    assert f'href="/patients/{clinic.patient.pk}/edit/"' not in page
    assert 'data-testid="card-visit-open"' in page  # the visit panel, which is read-only for them
    assert _hrefs(page, "card-task-link") == [f"/worklist/?who=all&kind={task.kind}"]


def test_doctor_reads_the_summary_completes_their_visit_and_may_start_a_plan(clinic):
    start = timezone.now() - timedelta(minutes=10)
    visit = clinic_visit(clinic, start, status=Visit.Status.ARRIVED)

    page = _card(clinic.doctor, clinic.patient)
    surgeon_page = _card(clinic.surgeon, clinic.patient)

    assert "Arrived" in _text(page, "card-next-visit")
    assert _hrefs(page, "card-visit-complete") == [f"/visits/{visit.pk}/complete/"]
    assert 'data-testid="card-book"' not in page
    assert 'data-testid="card-visit-move"' not in page
    assert f'href="/patients/{clinic.patient.pk}/plans/new/"' in page
    assert _hrefs(surgeon_page, "card-visit-complete") == []  # only the visit's own doctor
    assert 'data-testid="card-task-link"' not in page  # doctors have no worklist


def test_a_deceased_patient_is_not_offered_for_booking_and_the_desk_is_told_why(clinic):
    accepted_plan(clinic, stages=1)
    Patient.objects.filter(pk=clinic.patient.pk).update(is_deceased=True)

    page = _card(clinic.admin, clinic.patient)

    for action in ("card-book", "card-book-stage", "card-book-empty"):
        assert _hrefs(page, action) == [], action
    refusal = _text(page, "card-booking-refusal")
    assert refusal == f"{clinic.patient} is recorded as deceased; visits can't be booked."


def test_a_merged_card_shows_no_journey(clinic):
    target = PatientFactory(home_branch=clinic.branch)
    accepted_plan(clinic, stages=1)
    Patient.objects.filter(pk=clinic.patient.pk).update(merged_into=target, is_archived=True)

    page = _card(clinic.admin, clinic.patient)

    assert 'data-testid="card-journey"' not in page


def test_more_tasks_than_the_card_lists_are_counted(clinic):
    for n in range(8):
        _task(clinic, title=f"Task {n}", cause_key=f"many:{n}")

    page = _card(clinic.curator, clinic.patient)

    assert page.count('data-testid="card-task"') == 5
    assert "and 3 more" in page


def test_overdue_task_and_handoff_are_marked(clinic):
    _task(clinic, due=timezone.now() - timedelta(days=400))
    HandoffFactory(
        patient=clinic.patient,
        from_doctor=clinic.doctor,
        to_specialty=clinic.surgery,
        due_date=timezone.localdate() - timedelta(days=2),
    )
    page = _card(clinic.curator, clinic.patient)

    due = timezone.localtime(timezone.now() - timedelta(days=400))
    assert f"Due {due:%d.%m.%Y %H:%M}" in _text(page, "card-task")  # with its year
    assert "text-danger fw-semibold" in page.split('data-testid="card-tasks"')[1].split("</ul>")[0]
    handoffs = page.split('data-testid="card-handoffs"')[1].split("</ul>")[0]
    assert 'class="text-danger">Book by' in handoffs


# --- cost, access and audit ---------------------------------------------------------------


def _queries_for(user, patient) -> int:
    client = _client(user)
    client.get(f"/patients/{patient.pk}/")  # warm the session and caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/patients/{patient.pk}/").status_code == 200
    return len(queries)


def test_card_costs_the_same_queries_however_long_the_journey(
    clinic, django_assert_max_num_queries
):
    _journey(clinic)
    few = _queries_for(clinic.admin, clinic.patient)

    for _n in range(3):
        plan, _stages = accepted_plan(clinic, stages=4)
        HandoffFactory(
            patient=clinic.patient,
            plan=plan,
            from_doctor=clinic.doctor,
            to_specialty=clinic.surgery,
        )
    draft = TreatmentPlanFactory(
        patient=clinic.patient, branch=clinic.branch, lead_doctor=clinic.doctor
    )
    StageFactory(option=PlanOptionFactory(plan=draft))
    now = timezone.now()
    for n in range(6):
        clinic_visit(clinic, now - timedelta(days=30 + n), status=Visit.Status.COMPLETED)
        clinic_visit(
            clinic, (now + timedelta(days=10 + n)).replace(minute=0, second=0, microsecond=0)
        )
    for n in range(9):
        _task(clinic, title=f"Extra {n}", cause_key=f"extra:{n}")

    client = _client(clinic.admin)
    client.get(f"/patients/{clinic.patient.pk}/")
    with django_assert_max_num_queries(few):
        page = client.get(f"/patients/{clinic.patient.pk}/").content.decode()
    assert page.count('data-testid="card-plan"') == 5


def test_card_read_is_audited_once_with_the_journey_on_it(clinic):
    _journey(clinic)
    before = AuditEvent.objects.filter(
        action=AuditAction.READ, patient_id=clinic.patient.pk
    ).count()

    _card(clinic.admin, clinic.patient)

    reads = AuditEvent.objects.filter(action=AuditAction.READ, patient_id=clinic.patient.pk)
    assert reads.count() == before + 1
    assert reads.latest("pk").actor == clinic.admin


def test_an_outsider_gets_404_and_no_journey(world):
    response = _client(world.attackers[Role.ADMINISTRATOR]).get(f"/patients/{world.p.pk}/")
    assert response.status_code == 404
    assert world.plan.title not in response.content.decode()


# --- the registry other apps use ----------------------------------------------------------


def test_registered_panels_show_in_order_and_a_provider_may_show_nothing(clinic):
    seen = []

    def feedback_like(*, request, patient):
        seen.append((request.user.pk, patient.pk))
        return card.CardPanel(template="patients/_card_panel_test.html", context={"n": 1})

    def silent(*, request, patient):
        return None

    try:
        card.card_panel_register(key="test-first", provider=silent, order=1)
        card.card_panel_register(key="test-later", provider=feedback_like, order=99)
        panels = card.card_panels(request=_Request(clinic.admin), patient=clinic.patient)
    finally:
        card.card_panel_unregister(key="test-first")
        card.card_panel_unregister(key="test-later")

    assert [p.template for p in panels] == [
        "journeys/patient_card_journey.html",
        "patients/_card_panel_test.html",
    ]
    assert seen == [(clinic.admin.pk, clinic.patient.pk)]


class _Request:
    def __init__(self, user):
        self.user = user
