from celery import shared_task

from journeys.services.worklist import worklist_rules_run


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def worklist_rules_run_task(patient_id: int | None = None) -> dict[str, list[int]]:
    """Runs the worklist rules (all patients from beat, one patient right after a change)."""
    results = worklist_rules_run(patient_id=patient_id)
    return {name: [r.opened, r.closed] for name, r in results.items()}
