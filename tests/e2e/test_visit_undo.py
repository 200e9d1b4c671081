"""A no-show marked by mistake, undone in a real browser: the stage is booked again, the
patient leaves the routing queue and the rebook task leaves the curator's worklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Stage, Task, Visit
from tests.e2e.conftest import log_in
from tests.journeys.factories import accepted_plan, clinic_visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_no_show_is_undone_and_the_patient_leaves_the_queue_and_the_worklist(
    page, clinic, screenshot
):
    _plan, stages = accepted_plan(clinic)
    window_start = timezone.localdate() + timedelta(days=20)
    Stage.objects.filter(pk=stages[0].pk).update(
        status=Stage.Status.BOOKED, window_start=window_start
    )
    start = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    visit = clinic_visit(clinic, start, stage=stages[0], status=Visit.Status.CONFIRMED)
    calendar = f"/calendar/?branch={clinic.branch.pk}&date={_branch_day(visit)}"
    block = page.locator(f'[data-testid=visit-block][data-visit-id="{visit.pk}"]')
    panel = page.get_by_test_id("visit-panel")

    log_in(page, clinic.admin)
    page.goto(calendar)
    block.click()
    expect(page.get_by_test_id("visit-undo")).to_have_count(0)
    page.get_by_test_id("visit-action-no_show").click()
    expect(panel).to_have_attribute("data-status", "no_show")
    undo = page.get_by_test_id("visit-undo")
    expect(undo).to_be_visible()
    expect(page.get_by_test_id("visit-undo-left")).to_contain_text(
        str(settings.VISIT_STATUS_UNDO_MINUTES)
    )
    screenshot("visit-undo-offered")

    page.goto("/routing/")
    expect(page.get_by_test_id("routing-queue")).to_contain_text(clinic.patient.last_name)
    task = Task.objects.get(kind=Task.Kind.REBOOK, patient=clinic.patient)

    # The curator sees the rebook task (another browser, the curator's own login).
    curator = page.context.browser.new_context(
        base_url=page.live_url, locale="ru-RU", viewport={"width": 1280, "height": 860}
    )
    worklist = curator.new_page()
    try:
        log_in(worklist, clinic.curator)
        worklist.goto("/worklist/")
        expect(worklist.get_by_test_id(f"task-{task.pk}")).to_be_visible()

        # Back at the front desk: the patient was in the waiting room after all.
        page.goto(calendar)
        block.click()
        page.get_by_test_id("visit-undo").click()
        expect(page.get_by_test_id("visit-notice")).to_be_visible()
        expect(panel).to_have_attribute("data-status", "confirmed")
        expect(page.get_by_test_id("visit-undo")).to_have_count(0)
        expect(page.get_by_test_id("visit-action-arrive")).to_be_visible()
        screenshot("visit-undo-done")

        stage = Stage.objects.get(pk=stages[0].pk)
        assert stage.status == Stage.Status.BOOKED
        assert stage.window_start == window_start
        task.refresh_from_db()
        assert task.state == Task.State.DONE
        page.goto("/routing/")
        expect(page.locator("main")).not_to_contain_text(clinic.patient.last_name)

        worklist.reload()
        expect(worklist.locator("main")).to_be_visible()
        expect(worklist.get_by_test_id(f"task-{task.pk}")).to_have_count(0)
    finally:
        curator.close()


def _branch_day(visit: Visit) -> str:
    return timezone.localtime(visit.starts_at, visit.branch.zone).date().isoformat()
