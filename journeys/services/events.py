from __future__ import annotations

from typing import TYPE_CHECKING, Any

from journeys.models import Handoff, JourneyEvent, Stage, TreatmentPlan, Visit

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


def journey_event_record(
    *,
    patient_id: int,
    kind: str,
    actor: User | None = None,
    plan: TreatmentPlan | None = None,
    visit: Visit | None = None,
    stage: Stage | None = None,
    handoff: Handoff | None = None,
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> JourneyEvent:
    """Appends one fact to the patient's journey. Call it inside the service's
    transaction, so the fact and the change it describes commit together."""
    return JourneyEvent.objects.create(
        patient_id=patient_id,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        plan=plan,
        visit=visit,
        stage=stage,
        handoff=handoff,
        summary=summary,
        data=data or {},
    )


def after_journey_change(*, patient_id: int) -> None:
    """Re-runs the worklist rules for this patient once the change is committed. If the
    broker is unreachable the 15-minute beat run catches up; the change itself stands."""
    from clinic_crm.after_commit import queue_after_commit
    from journeys.tasks import worklist_rules_run_task

    queue_after_commit(worklist_rules_run_task, "worklist rules", patient_id=patient_id)
