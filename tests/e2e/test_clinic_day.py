"""A whole clinic day across roles, in a real browser, as staff work it: the front desk
books a patient's next stage from the routing queue (and the outbox plans its reminder),
marks that patient arrived and another one a no-show; the doctor completes the visit with
a handoff; the routing queue offers the missed stage first and the handoff; the curator
closes the rebook task and finds the recovery task a bad survey answer opened; and the
manager's loyalty dashboard shows the day's figures without a console error."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.messaging.models import Message
from feedback.links import survey_token
from feedback.models import Response, SurveyInvitation
from journeys.models import Handoff, Stage, Task, Visit
from metrics.cohorts import cohorts_snapshot
from metrics.rollups import rollups_refresh
from tests.e2e.conftest import (
    POLICY_COMPLAINT,
    REPORT_VIOLATIONS,
    SCREENSHOTS,
    log_in,
    zone_where_it_is_late_morning,
)
from tests.factories import PatientFactory
from tests.journeys.factories import accepted_plan, clinic_visit
from tests.metrics.factories import answered_visits

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def colleague_page(browser, live_server, page):
    """``colleague_page()`` -> a page of another browser context, as each colleague works
    at their own computer (logging the front desk out and in again within one TOTP step
    would reuse its code, which the second factor rightly refuses). Set up as the ``page``
    fixture's; the test fails if any of them hit a policy complaint or a console error."""
    contexts, problems = [], []

    def note(message) -> None:
        if message.type == "error" or POLICY_COMPLAINT.search(message.text):
            problems.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def make():
        context = browser.new_context(
            base_url=live_server.url, locale="ru-RU", viewport={"width": 1280, "height": 860}
        )
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", note)
        contexts.append(context)
        other = context.new_page()
        other.set_default_timeout(15000)
        other.on("pageerror", lambda error: problems.append(f"{other.url}: {error}"))
        other.live_url = live_server.url
        return other

    yield make
    for context in contexts:
        context.close()
    if problems:
        pytest.fail("A colleague's browser reported problems:\n" + "\n".join(problems))


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _open_visit(page, visit) -> None:
    page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]').click()
    expect(page.get_by_test_id("visit-panel")).to_have_attribute("data-visit-id", str(visit.pk))


def _close_modal(page) -> None:
    page.locator("#visit-modal .btn-close").click()
    expect(page.locator("#visit-modal")).to_be_hidden()
    expect(page.locator(".modal-backdrop")).to_have_count(0)


@pytest.fixture
def day(clinic, settings):
    """The clinic of ``clinic`` where it is late morning now (so the day has time left to
    book and time past for a no-show, whenever the test runs): patient A's plan waits for
    its first stage, patient B was due 40 minutes ago for a booked stage of theirs."""
    zone = zone_where_it_is_late_morning()
    settings.TIME_ZONE = zone  # the clinic's day (doctor's home) is the branch's day
    clinic.branch.time_zone = zone
    clinic.branch.save()
    _plan, a_stages = accepted_plan(clinic, stages=2)
    # A's second stage is weeks away: after today it is not due in the routing queue.
    Stage.objects.filter(pk=a_stages[1].pk).update(
        window_start=timezone.localdate() + timedelta(days=20),
        window_end=timezone.localdate() + timedelta(days=34),
    )
    patient_b = PatientFactory(home_branch=clinic.branch, last_name="Noshowova")
    _plan_b, b_stages = accepted_plan(SimpleNamespace(**{**vars(clinic), "patient": patient_b}))
    Stage.objects.filter(pk=b_stages[0].pk).update(
        status=Stage.Status.BOOKED, window_start=timezone.localdate() + timedelta(days=20)
    )
    b_visit = clinic_visit(
        clinic, timezone.now() - timedelta(minutes=40), patient=patient_b, stage=b_stages[0]
    )
    return SimpleNamespace(
        clinic=clinic,
        a=clinic.patient,
        a_stages=a_stages,
        b=patient_b,
        b_stage=b_stages[0],
        b_visit=b_visit,
    )


def test_a_clinic_day_from_booking_to_the_loyalty_dashboard(
    day, page, colleague_page, visit_survey, screenshot
):
    clinic = day.clinic
    desk = page  # the front desk stays logged in all day
    desk_errors: list[str] = []
    desk.on(
        "console",
        lambda message: (
            desk_errors.append(f"{desk.url}: {message.text}") if message.type == "error" else None
        ),
    )
    desk.on("pageerror", lambda error: desk_errors.append(f"{desk.url}: {error}"))
    today = timezone.localdate()

    # 1. The front desk books A's first stage from the routing queue, later today.
    log_in(desk, clinic.admin)
    desk.goto("/routing/")
    queue = desk.get_by_test_id("routing-queue")
    row = queue.locator("tr", has_text=day.a.last_name)
    expect(row).to_contain_text(day.a_stages[0].title)
    expect(queue).not_to_contain_text(day.b.last_name)  # B's stage is still booked
    row.get_by_test_id("find-slot").click()
    expect(desk).to_have_url(re.compile(r"/calendar/slots/"))
    expect(desk.get_by_test_id("booking-for")).to_contain_text(day.a.last_name)
    desk.locator(
        f'[data-testid=slot-day][data-date="{today.isoformat()}"] '
        f'[data-testid=slot-doctor][data-doctor-id="{clinic.doctor.pk}"] '
        '[data-testid=slot][data-time="15:00"]'
    ).click()
    form = desk.get_by_test_id("book-form")
    expect(form.get_by_test_id("patient-option")).to_be_checked()
    form.get_by_test_id("book-submit").click()
    expect(desk.get_by_test_id("visit-notice")).to_be_visible()
    screenshot("day-1-booked")
    a_visit = Visit.objects.get(patient=day.a)
    assert a_visit.stage == day.a_stages[0]
    assert a_visit.booked_by == clinic.admin
    assert timezone.localtime(a_visit.starts_at).strftime("%Y-%m-%d %H:%M") == (
        f"{today.isoformat()} 15:00"
    )

    # 2. The booking planned its reminder in the outbox (not sent here, not suppressed).
    reminders = Message.objects.filter(journey__visit=a_visit, kind="reminder")
    assert reminders.exists()
    assert set(reminders.values_list("status", flat=True)) == {Message.Status.PENDING}

    # 3. A comes early and is marked arrived; B never came and is marked a no-show.
    desk.goto(f"/calendar/?branch={clinic.branch.pk}")
    _open_visit(desk, a_visit)
    desk.once("dialog", lambda dialog: dialog.accept())  # "long before the visit's time?"
    desk.get_by_test_id("visit-action-arrive").click()
    expect(desk.get_by_test_id("visit-panel")).to_have_attribute("data-status", "arrived")
    _close_modal(desk)
    _open_visit(desk, day.b_visit)
    desk.get_by_test_id("visit-action-no_show").click()
    expect(desk.get_by_test_id("visit-panel")).to_have_attribute("data-status", "no_show")
    _close_modal(desk)
    block = '[data-testid=visit-block][data-visit-id="{}"]'
    expect(desk.locator(block.format(a_visit.pk))).to_have_attribute("data-status", "arrived")
    expect(desk.locator(block.format(day.b_visit.pk))).to_have_attribute("data-status", "no_show")
    screenshot("day-3-arrived-and-no-show")
    # Arrived: the reminder has no reason to go out any more.
    assert not Message.objects.filter(
        journey__visit=a_visit, status=Message.Status.PENDING
    ).exists()

    # 4. The doctor opens A's visit from today's list and hands A off to the surgeon.
    doctor = colleague_page()
    log_in(doctor, clinic.doctor)
    today_list = doctor.get_by_test_id("today-visits")
    a_item = today_list.locator("li", has_text=day.a.last_name)
    expect(a_item).to_contain_text(day.a_stages[0].title)
    expect(today_list.locator("li", has_text=day.b.last_name)).to_contain_text(
        re.compile("Неявка|No-show")
    )
    _screenshot(doctor, "day-4-doctor-today")
    a_item.get_by_role("link", name=re.compile("Завершить визит|Complete visit")).click()
    expect(doctor).to_have_url(re.compile(rf"/visits/{a_visit.pk}/complete/"))
    doctor.check("input[name=next_step][value=handoff]")
    doctor.select_option("select[name=to_specialty]", str(clinic.surgery.pk))
    doctor.fill("textarea[name=handoff_reason]", "Remove the wisdom teeth before the braces")
    doctor.get_by_test_id("complete-submit").click()
    expect(doctor).to_have_url(re.compile(rf"/patients/{day.a.pk}/timeline/"))
    expect(doctor.get_by_test_id("timeline-events")).to_contain_text("Remove the wisdom teeth")
    _screenshot(doctor, "day-4-completed-with-handoff")
    a_visit.refresh_from_db()
    assert a_visit.status == Visit.Status.COMPLETED
    handoff = Handoff.objects.get(patient=day.a)
    assert (handoff.state, handoff.to_specialty) == (Handoff.State.OPEN, clinic.surgery)

    # 5. The routing queue puts B's missed stage first, and shows A's handoff.
    desk.goto("/routing/")
    queue = desk.get_by_test_id("routing-queue")
    first = queue.locator("tbody tr").first
    expect(first).to_contain_text(day.b.last_name)
    expect(first).to_contain_text(day.b_stage.title)
    expect(queue.locator("tr", has_text=day.a.last_name)).to_contain_text("Remove the wisdom teeth")
    screenshot("day-5-routing-after-the-day")
    day.b_stage.refresh_from_db()
    assert day.b_stage.status == Stage.Status.PLANNED

    # 6. The curator closes B's rebook task with what came of the call.
    rebook = Task.objects.get(kind=Task.Kind.REBOOK, patient=day.b)
    assert rebook.assignee == clinic.curator  # the plan's curator has it already
    curator = colleague_page()
    log_in(curator, clinic.curator)
    curator.goto("/worklist/")
    row = curator.get_by_test_id(f"task-{rebook.pk}")
    expect(row.get_by_test_id("task-title")).to_contain_text(
        re.compile(r"Неявка .*: позвонить и записать снова|No-show on .*: call and rebook")
    )
    expect(row).to_contain_text(str(clinic.curator))
    _screenshot(curator, "day-6-worklist-rebook")
    row.locator("input[name=outcome]").fill("Called, booked for Friday")
    row.get_by_role("button", name=re.compile("Закрыть|Close")).click()
    expect(curator.get_by_test_id(f"task-{rebook.pk}")).to_have_count(0)
    rebook.refresh_from_db()
    assert rebook.state == Task.State.DONE
    assert rebook.outcome == "Called, booked for Friday"

    # 7. The completion planned A's survey invitation for two hours after the visit; A
    # opens the short link on a phone and answers badly: a recovery task lands on the
    # curator's worklist with what A said, and the curator records how the call ended.
    invitation = SurveyInvitation.objects.select_related("message").get(visit=a_visit)
    assert invitation.message.kind == "survey"
    assert invitation.message.scheduled_for == a_visit.ends_at + timedelta(hours=2)
    patient = colleague_page()
    patient.set_viewport_size({"width": 390, "height": 844})
    patient.goto(f"/s/{survey_token(invitation.key)}")
    patient.get_by_test_id("nps-3").click()
    patient.locator("label[for=a-communication-2]").click()
    patient.locator("label[for=a-waiting-2]").click()
    patient.get_by_test_id("survey-comment").fill("Ждал сорок минут")
    patient.get_by_test_id("survey-send").click()
    expect(patient.get_by_test_id("survey-thanks-negative")).to_be_visible()
    _screenshot(patient, "day-7-patient-survey-thanks")
    answer = Response.objects.get(visit=a_visit)
    recovery = answer.recovery_task
    assert recovery is not None
    assert (recovery.kind, recovery.assignee) == (Task.Kind.NEGATIVE_FEEDBACK, clinic.curator)
    curator.goto("/worklist/")
    row = curator.get_by_test_id(f"task-{recovery.pk}")
    expect(row).to_contain_text(day.a.last_name)
    expect(row).to_contain_text("Ждал сорок минут")
    _screenshot(curator, "day-7-worklist-recovery")
    row.get_by_test_id("task-result").select_option("reached_solved")
    row.locator("input[name=outcome]").fill("Apologised; the next visit without waiting")
    row.get_by_role("button", name=re.compile("Закрыть|Close")).click()
    expect(curator.get_by_test_id(f"task-{recovery.pk}")).to_have_count(0)
    # Reached: the patient is asked again in 14 days how they feel about the clinic now.
    again = SurveyInvitation.objects.get(recovers=answer)
    assert again.survey.kind == "recovery"

    # 8. The manager reads the loyalty dashboard once the rollups are refreshed.
    answered_visits(clinic, visit_survey, 32, score=10, day=today - timedelta(days=40))
    rollups_refresh()
    cohorts_snapshot()
    assert Response.objects.count() == 33
    manager = colleague_page()
    log_in(manager, clinic.manager)
    manager.goto("/metrics/dashboard/")
    # 32 promoters and A, a detractor: (32 - 1) / 33 = 94 %.
    expect(manager.get_by_test_id("tile-nps").get_by_test_id("value")).to_have_text("94")
    expect(manager.get_by_test_id("tile-csi")).to_contain_text("n = 33")
    expect(manager.locator("#nps-chart")).to_have_attribute("style", re.compile("height"))
    # A's recovery call was made at once: nothing open, called back within 24 hours.
    expect(manager.get_by_test_id("recovery")).to_contain_text("Открытые задачи: 0")
    expect(manager.get_by_test_id("recovery")).to_contain_text(
        "Перезвонили в течение 24 часов за период: 1 / 1"
    )
    _screenshot(manager, "day-8-dashboard")
    assert desk_errors == []
