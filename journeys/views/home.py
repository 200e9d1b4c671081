"""The journeys' part of the role home pages (registered with clinic_crm.staff.home)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from clinic_crm.audit.services import audit_list_read

from ..selectors_home import doctor_day


def doctor_home_context(request: HttpRequest) -> dict[str, Any]:
    """The doctor's visits of today, audited as a list read."""
    visits = list(doctor_day(doctor=request.user))
    audit_list_read(
        request=request, page="doctor's day", patient_ids=[v.patient_id for v in visits]
    )
    return {"today_visits": visits}
