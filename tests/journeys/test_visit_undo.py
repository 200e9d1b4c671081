"""Arrival, start and a no-show marked by mistake can be undone by the front desk of the
visit's branch for VISIT_STATUS_UNDO_MINUTES, with everything the step did reversed."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from clinic_crm.messaging.models import Message, SuppressReason
from clinic_crm.staff.roles import Role
from journeys import texts
from journeys.errors import JourneyError
from journeys.models import Handoff, JourneyEvent, Stage, Task, Visit
from journeys.selectors import routing_queue
from journeys.services.visit_status import (
    visit_confirm,
    visit_mark_arrived,
    visit_mark_no_show,
    visit_start,
    visit_transition,
)
from journeys.services.visit_undo import visit_status_undo, visit_undo_offer
from journeys.services.visits import visit_book
from tests.conftest import verified_client_for
from tests.factories import BranchFactory
from tests.helpers import run_together
from tests.journeys.factories import HandoffFactory, accepted_plan, clinic_visit

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
HTMX = {"HTTP_HX_REQUEST": "true"}
S = Visit.Status


def _today_at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(timezone.localdate(timezone.now(), MSK), time(hour, minute), MSK)


def _offer(c, visit):
    visit.refresh_from_db()
    return visit_undo_offer(user=c.admin, visit=visit)


def _undo(c, visit, actor=None):
    offer = _offer(c, visit)
    assert offer is not None
    return visit_status_undo(actor=actor or c.admin, visit=visit, step_id=offer.step_id)


def _client(user, language="en"):
    client = verified_client_for(user)
    client.cookies["django_language"] = language
    return client


@pytest.fixture
def missed(clinic):
    """A confirmed visit of the plan's first stage an hour ago, which also books a
    handoff; the stage's window is in the future."""
    c = clinic
    plan, stages = accepted_plan(c)
    stage = stages[0]
    window = (timezone.localdate() + timedelta(days=20), timezone.localdate() + timedelta(days=34))
    Stage.objects.filter(pk=stage.pk).update(
        status=Stage.Status.BOOKED, window_start=window[0], window_end=window[1]
    )
    handoff = HandoffFactory(
        patient=c.patient,
        plan=plan,
        from_doctor=c.surgeon,
        to_specialty=c.ortho,
        curator=c.curator,
        state=Handoff.State.BOOKED,
    )
    visit = clinic_visit(
        c, timezone.now() - timedelta(hours=1), stage=stage, handoff=handoff, status=S.CONFIRMED
    )
    c.stage, c.handoff, c.visit, c.window = stage, handoff, visit, window
    return c


# --- each step undone, with what it did --------------------------------------------------


def test_undoing_a_no_show_rebooks_the_stage_and_handoff_and_closes_the_rebook_task(
    missed, make_staff
):
    c = missed
    visit_mark_no_show(actor=c.admin, visit=c.visit)
    c.stage.refresh_from_db()
    assert c.stage.status == Stage.Status.PLANNED
    assert [i for i in routing_queue(branch_id=c.branch.pk) if i.stage_id == c.stage.pk]
    task = Task.objects.get(kind=Task.Kind.REBOOK, patient=c.patient, state=Task.State.OPEN)
    no_show = JourneyEvent.objects.filter(visit=c.visit, kind="visit_status").latest("id")
    worklist_url = reverse("journeys:worklist")
    assert f'data-testid="task-{task.pk}"' in _client(c.curator).get(worklist_url).content.decode()

    # A colleague at the same desk puts it right, not only the one who clicked.
    colleague = make_staff(Role.ADMINISTRATOR, branch=c.branch)
    _undo(c, c.visit, actor=colleague)

    c.visit.refresh_from_db()
    assert c.visit.status == S.CONFIRMED  # exactly the status before, not "scheduled"
    c.stage.refresh_from_db()
    assert c.stage.status == Stage.Status.BOOKED
    assert (c.stage.window_start, c.stage.window_end) == c.window  # the window as it was
    c.handoff.refresh_from_db()
    assert c.handoff.state == Handoff.State.BOOKED
    task.refresh_from_db()
    assert task.state == Task.State.DONE
    assert "no-show was undone" in task.outcome
    assert not [i for i in routing_queue(branch_id=c.branch.pk) if i.stage_id == c.stage.pk]

    undo = JourneyEvent.objects.filter(visit=c.visit, kind="visit_status").latest("id")
    assert undo.actor == colleague
    assert undo.data["from"] == S.NO_SHOW
    assert undo.data["to"] == S.CONFIRMED
    assert undo.data["undo"]["event"] == no_show.pk
    assert undo.data["undo"]["by"] == c.admin.pk
    assert undo.data["task"] == task.pk
    # The no-show's own event is untouched (the table is append-only).
    assert JourneyEvent.objects.get(pk=no_show.pk).data == no_show.data

    # Through the pages: off the routing queue, the task gone from the curator's worklist.
    queue = _client(c.admin).get(reverse("journeys:routing_queue")).content.decode()
    assert c.stage.title not in queue
    worklist = _client(c.curator).get(worklist_url).content.decode()
    assert f'data-testid="task-{task.pk}"' not in worklist


def test_undoing_arrival_puts_back_the_status_the_stage_and_the_reminders(clinic, time_machine):
    c = clinic
    plan, stages = accepted_plan(c)
    time_machine.move_to(_today_at(9), tick=False)
    visit = visit_book(
        actor=c.admin,
        patient=c.patient,
        doctor=c.doctor,
        branch=c.branch,
        service=c.service,
        starts_at=_today_at(15),
        stage=stages[0],
    )
    reminder = Message.objects.get(journey__visit=visit)
    assert reminder.status == Message.Status.PENDING  # the 24 h reminder, due now

    time_machine.move_to(_today_at(9, 5), tick=False)
    visit_mark_arrived(actor=c.admin, visit=visit)
    stages[0].refresh_from_db()
    assert stages[0].status == Stage.Status.IN_PROGRESS
    reminder.refresh_from_db()
    assert reminder.suppressed_reason == SuppressReason.VISIT_OVER

    time_machine.move_to(_today_at(9, 8), tick=False)
    _undo(c, visit)

    visit.refresh_from_db()
    assert visit.status == S.SCHEDULED
    stages[0].refresh_from_db()
    assert stages[0].status == Stage.Status.BOOKED
    reminder.refresh_from_db()
    assert (reminder.status, reminder.suppressed_reason) == (Message.Status.PENDING, "")
    assert reminder.closed_at is None
    # Marking arrival again starts the stage again.
    visit_mark_arrived(actor=c.admin, visit=visit)
    stages[0].refresh_from_db()
    assert stages[0].status == Stage.Status.IN_PROGRESS


def test_undoing_a_start_goes_back_to_arrived_and_then_arrival_can_be_undone(clinic):
    c = clinic
    visit = clinic_visit(c, timezone.now() + timedelta(minutes=5))
    visit_mark_arrived(actor=c.admin, visit=visit)
    visit_start(actor=c.admin, visit=visit)

    _undo(c, visit)
    visit.refresh_from_db()
    assert visit.status == S.ARRIVED
    _undo(c, visit)  # one step back at a time, newest first
    visit.refresh_from_db()
    assert visit.status == S.SCHEDULED
    assert _offer(c, visit) is None  # an undo is not itself undone
    events = JourneyEvent.objects.filter(visit=visit, kind="visit_status").order_by("id")
    assert [(e.data["from"], e.data["to"], "undo" in e.data) for e in events] == [
        (S.SCHEDULED, S.ARRIVED, False),
        (S.ARRIVED, S.IN_PROGRESS, False),
        (S.IN_PROGRESS, S.ARRIVED, True),
        (S.ARRIVED, S.SCHEDULED, True),
    ]


# --- refusals -----------------------------------------------------------------------------


def test_after_the_window_the_undo_is_refused_and_not_offered(missed, time_machine):
    c = missed
    time_machine.move_to(timezone.now(), tick=False)
    visit_mark_no_show(actor=c.admin, visit=c.visit)
    step = _offer(c, c.visit).step_id
    later = timezone.now() + timedelta(minutes=settings.VISIT_STATUS_UNDO_MINUTES, seconds=1)
    time_machine.move_to(later, tick=False)
    assert _offer(c, c.visit) is None
    events = JourneyEvent.objects.count()

    with pytest.raises(JourneyError, match="it could be undone only until"):
        visit_status_undo(actor=c.admin, visit=c.visit, step_id=step)

    c.visit.refresh_from_db()
    assert c.visit.status == S.NO_SHOW
    assert JourneyEvent.objects.count() == events
    assert Task.objects.get(kind=Task.Kind.REBOOK).state == Task.State.OPEN
    panel = _client(c.admin).get(
        reverse("journeys:visit_detail_partial", args=[c.visit.pk]), **HTMX
    )
    assert 'data-testid="visit-undo"' not in panel.content.decode()


def test_the_window_is_a_setting(missed, time_machine, settings):
    c = missed
    settings.VISIT_STATUS_UNDO_MINUTES = 30
    time_machine.move_to(timezone.now(), tick=False)
    visit_mark_no_show(actor=c.admin, visit=c.visit)
    time_machine.move_to(timezone.now() + timedelta(minutes=20), tick=False)
    _undo(c, c.visit)
    c.visit.refresh_from_db()
    assert c.visit.status == S.CONFIRMED


def test_another_role_is_refused_and_sees_no_button(clinic):
    c = clinic
    visit = clinic_visit(c, timezone.now() + timedelta(minutes=5))
    visit_mark_arrived(actor=c.admin, visit=visit)
    step = _offer(c, visit).step_id
    for user in (c.doctor, c.curator, c.manager):
        assert visit_undo_offer(user=user, visit=visit) is None
        with pytest.raises(JourneyError, match="Only the front desk"):
            visit_status_undo(actor=user, visit=visit, step_id=step)
        response = _client(user).post(
            reverse("journeys:visit_undo", args=[visit.pk]), {"step": step}, **HTMX
        )
        assert response.status_code == 403
    doctor_panel = _client(c.doctor).get(
        reverse("journeys:visit_detail_partial", args=[visit.pk]), **HTMX
    )
    assert 'data-testid="visit-undo"' not in doctor_panel.content.decode()
    visit.refresh_from_db()
    assert visit.status == S.ARRIVED


def test_the_front_desk_of_another_branch_gets_404_and_changes_nothing(clinic, make_staff):
    c = clinic
    visit = clinic_visit(c, timezone.now() + timedelta(minutes=5))
    visit_mark_arrived(actor=c.admin, visit=visit)
    step = _offer(c, visit).step_id
    stranger = make_staff(Role.ADMINISTRATOR, branch=BranchFactory(name="North"))
    response = _client(stranger).post(
        reverse("journeys:visit_undo", args=[visit.pk]), {"step": step}, **HTMX
    )
    assert response.status_code == 404
    assert c.patient.last_name not in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == S.ARRIVED
    with pytest.raises(JourneyError):
        visit_status_undo(actor=stranger, visit=visit, step_id=step)


def test_a_completed_visit_is_not_undone(clinic):
    c = clinic
    visit = clinic_visit(c, timezone.now() - timedelta(minutes=5))
    visit_mark_arrived(actor=c.admin, visit=visit)
    step = _offer(c, visit).step_id
    visit_transition(actor=c.doctor, visit=visit, to_status=S.COMPLETED)
    assert _offer(c, visit) is None
    with pytest.raises(JourneyError, match="a completed visit can't be undone"):
        visit_status_undo(actor=c.admin, visit=visit, step_id=step)
    visit.refresh_from_db()
    assert visit.status == S.COMPLETED


def test_a_confirmation_is_not_undone_this_way(clinic):
    c = clinic
    visit = clinic_visit(c, timezone.now() + timedelta(days=1))
    visit_confirm(actor=c.admin, visit=visit)
    assert _offer(c, visit) is None
    with pytest.raises(JourneyError, match="nothing to undo"):
        visit_status_undo(actor=c.admin, visit=visit, step_id=None)


def test_a_second_undo_of_the_same_step_is_refused(clinic):
    """A double click: the second request names the step the first one undid."""
    c = clinic
    visit = clinic_visit(c, timezone.now() + timedelta(minutes=5))
    visit_mark_arrived(actor=c.admin, visit=visit)
    visit_start(actor=c.admin, visit=visit)
    step = _offer(c, visit).step_id
    visit_status_undo(actor=c.admin, visit=visit, step_id=step)
    with pytest.raises(JourneyError, match="Someone changed this visit"):
        visit_status_undo(actor=c.admin, visit=visit, step_id=step)
    visit.refresh_from_db()
    assert visit.status == S.ARRIVED  # the arrival was not undone by the second click


def test_a_no_show_is_not_undone_once_the_stage_is_booked_again(missed):
    c = missed
    visit_mark_no_show(actor=c.admin, visit=c.visit)
    step = _offer(c, c.visit).step_id
    visit_book(
        actor=c.admin,
        patient=c.patient,
        doctor=c.doctor,
        branch=c.branch,
        service=c.service,
        starts_at=(timezone.localtime(timezone.now(), MSK) + timedelta(days=2)).replace(
            hour=10, minute=0, second=0, microsecond=0
        ),
        stage=c.stage,
    )
    events = JourneyEvent.objects.count()
    with pytest.raises(JourneyError, match="has been booked again"):
        visit_status_undo(actor=c.admin, visit=c.visit, step_id=step)
    c.visit.refresh_from_db()
    assert c.visit.status == S.NO_SHOW
    assert JourneyEvent.objects.count() == events
    assert Task.objects.get(cause_key=f"noshow:{c.visit.pk}").state == Task.State.OPEN


# --- the panel ----------------------------------------------------------------------------


def test_the_panel_offers_undo_with_the_time_left_and_undoes_over_htmx(
    missed, time_machine, django_assert_max_num_queries
):
    c = missed
    time_machine.move_to(timezone.now(), tick=False)
    client = _client(c.admin)
    response = client.post(
        reverse("journeys:visit_status", args=[c.visit.pk]), {"action": "no_show"}, **HTMX
    )
    body = response.content.decode()
    assert 'data-testid="visit-undo"' in body
    assert f"{settings.VISIT_STATUS_UNDO_MINUTES} min left" in body

    time_machine.move_to(timezone.now() + timedelta(minutes=3), tick=False)
    url = reverse("journeys:visit_detail_partial", args=[c.visit.pk])
    with django_assert_max_num_queries(14):
        panel = client.get(url, **HTMX).content.decode()
    assert f"{settings.VISIT_STATUS_UNDO_MINUTES - 3} min left" in panel
    step = _offer(c, c.visit).step_id
    assert f'data-step="{step}"' in panel

    response = client.post(
        reverse("journeys:visit_undo", args=[c.visit.pk]), {"step": step}, **HTMX
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "The no-show is undone." in body
    assert response["HX-Trigger"] == "visits-changed"
    assert 'data-status="confirmed"' in body
    assert 'data-testid="visit-undo"' not in body

    again = client.post(reverse("journeys:visit_undo", args=[c.visit.pk]), {"step": step}, **HTMX)
    assert 'data-testid="visit-error"' in again.content.decode()
    refused = client.post(reverse("journeys:visit_undo", args=[c.visit.pk]), {"step": "x"}, **HTMX)
    assert "Reload the visit and try again." in refused.content.decode()
    assert client.get(reverse("journeys:visit_undo", args=[c.visit.pk])).status_code == 405


def test_the_panel_speaks_russian(clinic):
    c = clinic
    visit = clinic_visit(c, timezone.now() + timedelta(minutes=5))
    visit_mark_arrived(actor=c.admin, visit=visit)
    panel = _client(c.admin, "ru").get(
        reverse("journeys:visit_detail_partial", args=[visit.pk]), **HTMX
    )
    body = panel.content.decode()
    assert "Отменить приход" in body
    assert "мин" in body


def test_the_timeline_says_what_was_undone_in_the_readers_language(missed):
    c = missed
    visit_mark_no_show(actor=c.admin, visit=c.visit)
    _undo(c, c.visit)
    undo = JourneyEvent.objects.filter(visit=c.visit, kind="visit_status").latest("id")
    with translation.override("en"):
        assert texts.event_text(undo) == "Undone: No-show"
    with translation.override("ru"):
        assert texts.event_text(undo) == "Отменено: Неявка"
    timeline = _client(c.doctor).get(reverse("journeys:timeline", args=[c.patient.pk]))
    assert "Undone: No-show" in timeline.content.decode()


# --- two at once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_undos_at_once_undo_one_step(clinic):
    c = clinic
    visit = clinic_visit(c, timezone.now() + timedelta(minutes=5))
    visit_mark_arrived(actor=c.admin, visit=visit)
    visit_start(actor=c.admin, visit=visit)
    step = _offer(c, visit).step_id

    def undo():
        return visit_status_undo(actor=c.admin, visit=Visit.objects.get(pk=visit.pk), step_id=step)

    results = run_together(undo, undo)
    errors = [r for r in results if isinstance(r, JourneyError)]
    assert len([r for r in results if isinstance(r, Visit)]) == 1
    assert len(errors) == 1, results
    visit.refresh_from_db()
    assert visit.status == S.ARRIVED
    undos = JourneyEvent.objects.filter(visit=visit, kind="visit_status", data__has_key="undo")
    assert undos.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_undo_racing_a_new_step_leaves_one_consistent_outcome(clinic):
    c = clinic
    plan, stages = accepted_plan(c)
    visit = clinic_visit(c, timezone.now() + timedelta(minutes=5), stage=stages[0])
    Stage.objects.filter(pk=stages[0].pk).update(status=Stage.Status.BOOKED)
    visit_mark_arrived(actor=c.admin, visit=visit)
    step = _offer(c, visit).step_id

    results = run_together(
        lambda: visit_status_undo(
            actor=c.admin, visit=Visit.objects.get(pk=visit.pk), step_id=step
        ),
        lambda: visit_start(actor=c.admin, visit=Visit.objects.get(pk=visit.pk)),
    )
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, JourneyError)
    ]
    assert not unexpected, unexpected
    assert sum(isinstance(r, JourneyError) for r in results) == 1, results
    visit.refresh_from_db()
    stages[0].refresh_from_db()
    if isinstance(results[0], Visit):  # the undo won; the start found the visit changed
        assert visit.status == S.SCHEDULED
        assert stages[0].status == Stage.Status.BOOKED
    else:  # the start won; the undo named a step that is no longer the latest
        assert visit.status == S.IN_PROGRESS
        assert stages[0].status == Stage.Status.IN_PROGRESS
