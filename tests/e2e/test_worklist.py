"""The day after a no-show, in a real browser: the administrator marks it, the stage is
back first in the routing queue, and the curator finds the rebook task on the worklist,
filters, takes, hands over and closes tasks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from journeys.models import Stage, Task
from tests.e2e.conftest import log_in
from tests.factories import PatientFactory
from tests.journeys.factories import accepted_plan, clinic_visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_no_show_goes_back_to_the_routing_queue_and_onto_the_worklist(
    page, clinic, make_staff, screenshot
):
    _plan, stages = accepted_plan(clinic)
    Stage.objects.filter(pk=stages[0].pk).update(
        status=Stage.Status.BOOKED, window_start=timezone.localdate() + timedelta(days=20)
    )
    start = timezone.now() - timedelta(minutes=40)
    visit = clinic_visit(clinic, start, stage=stages[0])
    colleague = make_staff(Role.CURATOR, branch=clinic.branch)
    other = PatientFactory(home_branch=clinic.branch, last_name="Unassignedova")
    Task.objects.create(
        kind=Task.Kind.RECALL_DUE,
        patient=other,
        branch=clinic.branch,
        cause_key="test:recall",
        title="Invite for the check-up",
        due_at=timezone.now() + timedelta(days=2),
        risk=20,
    )

    log_in(page, clinic.admin)
    page.goto("/routing/")
    expect(page.get_by_test_id("routing-queue")).not_to_contain_text(clinic.patient.last_name)
    page.goto("/calendar/")
    page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]').click()
    page.get_by_test_id("visit-action-no_show").click()
    expect(page.get_by_test_id("visit-panel")).to_have_attribute("data-status", "no_show")
    page.goto("/routing/")
    first = page.get_by_test_id("routing-queue").locator("tbody tr").first
    expect(first).to_contain_text(clinic.patient.last_name)
    expect(first).to_contain_text(stages[0].title)
    screenshot("routing-after-no-show")
    page.get_by_role("button", name=re.compile("Выйти|Log out")).click()

    log_in(page, clinic.curator)
    page.goto("/worklist/")
    rebook = Task.objects.get(kind=Task.Kind.REBOOK)
    recall = Task.objects.get(kind=Task.Kind.RECALL_DUE)
    row = page.get_by_test_id(f"task-{rebook.pk}")
    expect(row).to_contain_text(clinic.patient.last_name)
    expect(row.get_by_test_id("task-phone")).to_have_attribute(
        "href", f"tel:{clinic.patient.phone}"
    )
    expect(row.get_by_test_id("task-score")).to_have_attribute("title", re.compile(r"\+\d"))
    screenshot("worklist-curator")

    # filter by kind: the list swaps in place and the address keeps the filter
    page.select_option("select[name=kind]", Task.Kind.REBOOK)
    expect(page.get_by_test_id(f"task-{recall.pk}")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"kind=rebook"))
    page.select_option("select[name=kind]", "")
    expect(page.get_by_test_id(f"task-{recall.pk}")).to_be_visible()

    # take the unassigned task, hand the rebook one to a colleague, close the recall
    page.get_by_test_id(f"task-{recall.pk}").get_by_role("button", name="Взять").click()
    expect(page.get_by_test_id(f"task-{recall.pk}")).to_contain_text(str(clinic.curator))
    page.get_by_test_id(f"task-{rebook.pk}").locator("input[type=checkbox]").check()
    bulk = page.get_by_test_id("bulk-actions")
    bulk.locator("select[name=assignee]").select_option(str(colleague.pk))
    bulk.get_by_role("button", name="Передать…").click()
    expect(page.get_by_test_id(f"task-{rebook.pk}")).to_have_count(0)  # not mine any more
    rebook.refresh_from_db()
    assert rebook.assignee == colleague
    row = page.get_by_test_id(f"task-{recall.pk}")
    row.get_by_role("button", name="Не дозвонились").click()
    expect(page.get_by_test_id(f"task-{recall.pk}")).to_contain_text("Последняя попытка")
    row = page.get_by_test_id(f"task-{recall.pk}")
    row.locator("input[name=outcome]").fill("Booked for the check-up")
    row.get_by_role("button", name="Закрыть").click()
    expect(page.get_by_test_id(f"task-{recall.pk}")).to_have_count(0)
    screenshot("worklist-after-work")
    recall.refresh_from_db()
    assert recall.state == Task.State.DONE
    page.goto(f"/patients/{other.pk}/timeline/")
    expect(page.get_by_test_id("timeline-events")).to_contain_text("Booked for the check-up")
