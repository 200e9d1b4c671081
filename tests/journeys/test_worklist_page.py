"""The worklist a curator works from: filters, the phone to call, dates with their year,
a score that spreads tasks and says why, taking, handing over, attempts and closing (one
or many), every change on the journey, and a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clinic_crm.staff.roles import Role
from journeys.models import JourneyEvent, PlanOption, Task, TreatmentPlan, Visit
from journeys.selectors_worklist import score_reasons, with_score
from tests.conftest import verified_client_for
from tests.factories import BranchFactory, PatientFactory
from tests.journeys.factories import VisitFactory

pytestmark = pytest.mark.django_db


def _task(c, *, patient=None, kind=Task.Kind.STALLED_JOURNEY, due_in=timedelta(hours=2), **kw):
    patient = patient or PatientFactory(home_branch=c.branch)
    kw.setdefault("assignee", c.curator)
    kw.setdefault("branch", c.branch)
    return Task.objects.create(
        kind=kind,
        patient=patient,
        cause_key=f"test:{kind}:{patient.pk}:{Task.objects.count()}",
        title="Call the patient",
        due_at=timezone.now() + due_in,
        risk=kw.pop("risk", 40),
        **kw,
    )


def _page(client, **params) -> str:
    response = client.get("/worklist/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_filters_by_kind_due_branch_and_whose(clinic, make_staff):
    other_branch = BranchFactory(name="North")
    colleague = make_staff(Role.CURATOR, branch=clinic.branch)
    overdue = _task(clinic, due_in=-timedelta(days=2))
    later = _task(clinic, kind=Task.Kind.RECALL_DUE, due_in=timedelta(days=20))
    tonight = _task(clinic, kind=Task.Kind.REBOOK, due_in=timedelta(minutes=1))
    unassigned = _task(clinic, assignee=None, due_in=timedelta(days=3))
    colleagues = _task(clinic, assignee=colleague)
    elsewhere = _task(clinic, assignee=None, branch=other_branch)
    client = verified_client_for(clinic.curator)

    def shown(**params) -> set[int]:
        body = _page(client, **params)
        everything = (overdue, later, tonight, unassigned, colleagues, elsewhere)
        return {t.pk for t in everything if f'data-testid="task-{t.pk}"' in body}

    # by default: mine and the unassigned ones of my branch, not a colleague's, not
    # another branch's
    assert shown() == {overdue.pk, later.pk, tonight.pk, unassigned.pk}
    assert shown(who="mine") == {overdue.pk, later.pk, tonight.pk}
    assert shown(who="unassigned") == {unassigned.pk}
    assert shown(who="all") == {overdue.pk, later.pk, tonight.pk, unassigned.pk, colleagues.pk}
    assert shown(who=f"u{colleague.pk}") == {colleagues.pk}
    assert shown(kind=Task.Kind.RECALL_DUE) == {later.pk}
    assert shown(due="overdue") == {overdue.pk}
    assert tonight.pk in shown(due="today")
    assert later.pk not in shown(due="week")
    assert unassigned.pk in shown(due="week")
    # nonsense is ignored, never a 500
    assert shown(kind="<script>", due="yesterday", who="u999999", branch="x") == shown()


def test_a_task_shows_the_phone_to_call_the_channel_and_the_due_date_with_its_year(clinic):
    patient = PatientFactory(home_branch=clinic.branch, phone="+79161234567")
    long_ago = _task(clinic, patient=patient, due_in=-timedelta(days=400))
    body = _page(verified_client_for(clinic.curator))
    assert 'href="tel:+79161234567"' in body
    assert patient.get_preferred_channel_display() in body
    assert timezone.localtime(long_ago.due_at).strftime("%d.%m.%Y") in body


def test_the_score_spreads_tasks_of_one_rule_and_says_why(clinic):
    calm = _task(clinic, kind=Task.Kind.NEGATIVE_FEEDBACK, risk=95)
    troubled_patient = PatientFactory(home_branch=clinic.branch)
    plan = TreatmentPlan.objects.create(
        patient=troubled_patient,
        title="Implants",
        branch=clinic.branch,
        curator=clinic.curator,
        lead_doctor=clinic.doctor,
    )
    option = PlanOption.objects.create(
        plan=plan, title="Two implants", cost_estimate=Decimal(240000)
    )
    TreatmentPlan.objects.filter(pk=plan.pk).update(chosen_option=option)
    for days in (30, 60):
        start = timezone.now() - timedelta(days=days)
        VisitFactory(
            patient=troubled_patient,
            doctor=clinic.doctor,
            branch=clinic.branch,
            service=clinic.service,
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
            status=Visit.Status.NO_SHOW,
        )
    troubled = _task(
        clinic,
        patient=troubled_patient,
        plan=plan,
        kind=Task.Kind.NEGATIVE_FEEDBACK,
        risk=95,
        due_in=-timedelta(days=3),
    )
    scored = {t.pk: t for t in with_score(Task.objects.all())}
    assert scored[calm.pk].score == 47 + 5  # half the rule's 95, one negative answer
    # 47 + overdue 3 days 15 + plan of 240 000: 10 + two no-shows 10 + one negative 5
    assert scored[troubled.pk].score == 87
    reasons = score_reasons(scored[troubled.pk])
    assert len(reasons) == 5, reasons
    body = _page(verified_client_for(clinic.curator), sort="risk")
    assert body.index(f'data-testid="task-{troubled.pk}"') < body.index(
        f'data-testid="task-{calm.pk}"'
    )
    assert "240 000" in body  # the reasons are on the page (hover text)


def test_take_hand_over_attempt_and_close_each_on_the_journey(clinic, make_staff):
    colleague = make_staff(Role.CURATOR, branch=clinic.branch)
    stranger = make_staff(Role.CURATOR, branch=BranchFactory(name="Far"))
    task = _task(clinic, assignee=None)
    client = verified_client_for(clinic.curator)

    assert client.post(f"/worklist/tasks/{task.pk}/assign/", {"take": "1"}).status_code == 302
    task.refresh_from_db()
    assert task.assignee == clinic.curator

    refused = client.post(f"/worklist/tasks/{task.pk}/assign/", {"assignee": stranger.pk})
    assert refused.status_code == 403  # the colleague doesn't work for the task's branch
    assert (
        client.post(f"/worklist/tasks/{task.pk}/assign/", {"assignee": colleague.pk}).status_code
        == 302
    )
    task.refresh_from_db()
    assert task.assignee == colleague
    # now it is the colleague's: this curator may no longer close it
    assert client.post(f"/worklist/tasks/{task.pk}/close/", {"outcome": "x"}).status_code == 403

    theirs = verified_client_for(colleague)
    before = timezone.now()
    theirs.post(f"/worklist/tasks/{task.pk}/attempt/", {"note": "no answer"})
    task.refresh_from_db()
    assert task.state == Task.State.IN_PROGRESS
    assert task.attempts == 1
    assert task.last_attempt_note == "no answer"
    assert task.due_at >= before + timedelta(hours=2) - timedelta(seconds=5)
    assert "no answer" in _page(theirs)
    theirs.post(f"/worklist/tasks/{task.pk}/close/", {"outcome": "Booked for Monday"})
    task.refresh_from_db()
    assert task.state == Task.State.DONE

    actions = list(
        JourneyEvent.objects.filter(kind=JourneyEvent.Kind.TASK, patient=task.patient)
        .order_by("id")
        .values_list("data__action", "actor")
    )
    assert actions == [
        ("taken", clinic.curator.pk),
        ("assigned", clinic.curator.pk),
        ("attempt", colleague.pk),
        ("closed", colleague.pk),
    ]


def test_bulk_take_and_close_and_no_bulk_path_around_the_access_rule(clinic, make_staff):
    mine = [_task(clinic, assignee=None) for _ in range(3)]
    client = verified_client_for(clinic.curator)
    ids = [t.pk for t in mine]
    assert client.post("/worklist/tasks/assign/", {"task": ids, "take": "1"}).status_code == 302
    assert set(Task.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {
        clinic.curator.pk
    }
    back = "/worklist/?kind=stalled_journey"
    response = client.post(
        "/worklist/tasks/close/", {"task": ids[:2], "outcome": "Called, booked", "back": back}
    )
    assert response["Location"] == back
    assert Task.objects.filter(pk__in=ids, state=Task.State.DONE).count() == 2
    # another branch's curator, with these ids: nothing told, nothing changed
    far = BranchFactory(name="Far")
    attacker = verified_client_for(make_staff(Role.CURATOR, branch=far))
    far_patient_task = ids[2]
    for url, data in (
        ("/worklist/tasks/close/", {"task": [far_patient_task], "outcome": "x"}),
        ("/worklist/tasks/assign/", {"task": [far_patient_task], "take": "1"}),
    ):
        assert attacker.post(url, data).status_code == 404
    assert Task.objects.get(pk=far_patient_task).state == Task.State.OPEN
    # an outside address in "back" is not followed
    response = client.post(
        "/worklist/tasks/close/",
        {"task": [ids[2]], "outcome": "x", "back": "https://evil.example/"},
    )
    assert response["Location"] == "/worklist/"


def test_the_worklist_costs_the_same_queries_for_3_or_30_tasks(clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = verified_client_for(clinic.curator)
    counts = []
    for n in (3, 30):
        for i in range(n - Task.objects.count()):
            _task(clinic, assignee=None if i % 2 else clinic.curator)
        with CaptureQueriesContext(connection) as queries:
            _page(client)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_a_limited_worklist_is_the_head_of_the_whole_one_when_only_the_first_hours_are_scored(
    clinic,
):
    # Scoring only the hours up to the limit-th task must not change what comes first:
    # the boundary hour holds tasks on both sides of the limit, with other scores.
    from journeys.selectors_worklist import worklist

    base = timezone.now().replace(minute=10, second=0, microsecond=0) + timedelta(hours=1)
    for hour, risks in enumerate(((10, 90), (20, 95, 5, 60), (99, 1))):
        for minute, risk in enumerate(risks):
            _task(
                clinic,
                risk=risk,
                due_in=base + timedelta(hours=hour, minutes=minute) - timezone.now(),
            )
    whole = [t.pk for t in worklist(user=clinic.curator, branch_ids=frozenset({clinic.branch.pk}))]
    assert len(whole) == 8
    for limit in (1, 2, 3, 4, 6, 7, 8, 9):
        head = worklist(user=clinic.curator, branch_ids=frozenset({clinic.branch.pk}), limit=limit)
        assert [t.pk for t in head] == whole[:limit], limit
