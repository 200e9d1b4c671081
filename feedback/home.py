"""The managers' home page panel: recovery calls escalated because they are overdue."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from clinic_crm.audit.services import audit_list_read

from .recovery import escalations_for_home, out_of_sla


def escalations_context(request: HttpRequest) -> dict[str, Any]:
    """The escalated calls of the manager's branch (every branch for a manager without
    one), audited as a list read."""
    profile = getattr(request.user, "profile", None)
    branch_id = None if profile is None or profile.all_branches else profile.branch_id
    now = timezone.now()
    responses = escalations_for_home(branch_id)
    rows = [{"response": r, "out_of_sla": out_of_sla(r, r.recovery_task, now)} for r in responses]
    audit_list_read(
        request=request,
        page="home:escalated recovery calls",
        patient_ids=[r.patient_id for r in responses],
    )
    return {"escalations": rows}
