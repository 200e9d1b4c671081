"""The journey panel of the patient card.

``patients`` owns the card and may not import this app; ``JourneysConfig.ready``
registers :func:`journey_card_panel` with ``patients.card``. The card has already
fetched the patient through the access rule and audited the read; the panel adds what
the clinic needs at a glance — open plans and their stage, the next and the last visit,
open tasks and handoffs — and the actions the reader's role may take from there, each a
link into a page that exists (the slot finder, the visit's move and cancel forms, the
plan, the worklist, completing a visit; the card itself links the timeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from clinic_crm.staff.roles import Role
from journeys import access
from journeys.models import Handoff, Stage, Visit
from journeys.selectors_card import PlanSummary, patient_journey_summary
from journeys.services.visits import booking_refusal
from journeys.views.plans import CLINICAL_WRITERS
from journeys.views.scheduling import READ_ROLES as VISIT_PANEL_ROLES
from patients.card import CardPanel
from patients.models import Patient

TEMPLATE = "journeys/patient_card_journey.html"
# Who opens the worklist (and so may follow a task there).
WORKLIST_ROLES = (Role.CURATOR, Role.MANAGER)
# Who records the patient's decision on a proposed plan (the plan page's form).
DECISION_ROLES = (*CLINICAL_WRITERS, Role.ADMINISTRATOR)


@dataclass
class VisitRow:
    visit: Visit
    panel_url: str = ""
    move_url: str = ""
    cancel_url: str = ""
    complete_url: str = ""


@dataclass
class PlanRow:
    summary: PlanSummary
    url: str
    book_url: str = ""
    decide_url: str = ""


@dataclass
class HandoffRow:
    handoff: Handoff
    book_url: str = ""


def _slot_search_url(user, patient: Patient, *, branch_id=None, **params) -> str:
    """The slot finder, booking for this patient; at ``branch_id`` when the user books
    there (else the finder opens at the user's own branch)."""
    query = {"patient": patient.pk}
    if branch_id is not None and access.can_schedule_at(user, branch_id):
        query["branch"] = branch_id
    query.update({k: v for k, v in params.items() if v is not None})
    return f"{reverse('journeys:slot_search')}?{urlencode(query)}"


def _stage_booking_url(user, patient: Patient, plan, stage: Stage) -> str:
    return _slot_search_url(
        user, patient, branch_id=plan.branch_id, stage=stage.pk, specialty=stage.specialty_id
    )


def _visit_row(user, visit: Visit | None, *, next_one: bool) -> VisitRow | None:
    if visit is None:
        return None
    row = VisitRow(visit=visit)
    if user.has_role(*VISIT_PANEL_ROLES):
        row.panel_url = reverse("journeys:visit_detail_partial", args=[visit.pk])
    if next_one and visit.status in Visit.UPCOMING and access.can_change_visit(user, visit):
        row.move_url = reverse("journeys:visit_move", args=[visit.pk])
        row.cancel_url = reverse("journeys:visit_cancel", args=[visit.pk])
    if visit.status in (Visit.Status.ARRIVED, Visit.Status.IN_PROGRESS) and (
        access.can_complete_visit(user, visit)
    ):
        row.complete_url = reverse("journeys:visit_complete", args=[visit.pk])
    return row


def journey_card_panel(*, request: HttpRequest, patient: Patient) -> CardPanel | None:
    """The journey summary and the reader's actions, for a card the reader may see."""
    if patient.is_merged:  # its journey now lives on the card it was merged into
        return None
    user = request.user
    now = timezone.now()
    summary = patient_journey_summary(patient_id=patient.pk, now=now)
    refusal = booking_refusal(patient)
    books = user.has_role(Role.ADMINISTRATOR) and not refusal

    plans = []
    for plan_summary in summary.plans:
        plan = plan_summary.plan
        row = PlanRow(summary=plan_summary, url=reverse("journeys:plan_detail", args=[plan.pk]))
        stage = plan_summary.stage_to_book
        if books and stage is not None:
            row.book_url = _stage_booking_url(user, patient, plan, stage)
        if plan.status == plan.Status.PROPOSED and user.has_role(*DECISION_ROLES):
            row.decide_url = row.url
        plans.append(row)

    # "Book a visit": for the stage that waits first, else a visit of any kind.
    book_url = ""
    if books:
        book_url = next(
            (p.book_url for p in plans if p.book_url),
            _slot_search_url(user, patient, branch_id=patient.home_branch_id),
        )
    handoffs = [
        HandoffRow(
            handoff=handoff,
            book_url=_slot_search_url(
                user,
                patient,
                branch_id=handoff.branch_id,
                handoff=handoff.pk,
                specialty=handoff.to_specialty_id,
            )
            if books
            else "",
        )
        for handoff in summary.handoffs.rows
    ]
    return CardPanel(
        template=TEMPLATE,
        context={
            "summary": summary,
            "plans": plans,
            "next_visit": _visit_row(user, summary.next_visit, next_one=True),
            "last_visit": _visit_row(user, summary.last_visit, next_one=False),
            "handoffs": handoffs,
            "handoffs_more": summary.handoffs.more,
            "tasks": summary.tasks.rows,
            "tasks_more": summary.tasks.more,
            "book_url": book_url,
            "booking_refusal": refusal if user.has_role(Role.ADMINISTRATOR) else "",
            "new_plan_url": (
                reverse("journeys:plan_create", args=[patient.pk])
                if user.has_role(Role.DOCTOR)
                else ""
            ),
            "worklist_url": reverse("journeys:worklist") if user.has_role(*WORKLIST_ROLES) else "",
            "visit_modal": user.has_role(*VISIT_PANEL_ROLES),
            "now": now,
            "today": timezone.localdate(),
        },
    )
