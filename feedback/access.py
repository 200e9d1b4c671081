"""Who may touch patients' answers: fetched through the one access rule
(``patients.access``), so an answer of a patient the user may not see is 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from clinic_crm.staff.roles import Role
from patients import access as patient_access

from .models import Response

if TYPE_CHECKING:
    from clinic_crm.staff.models import User

# Correcting the reasons found in a comment: whoever reads the patient's answers.
REASON_EDITOR_ROLES = (Role.DOCTOR, Role.CURATOR, Role.MANAGER, Role.ADMINISTRATOR)


def response_or_404(
    user: User, response_id: int, responses: QuerySet[Response] | None = None
) -> Response:
    responses = Response.objects.all() if responses is None else responses
    try:
        found: Response = patient_access.restrict(user, responses).get(pk=response_id)
        return found
    except (Response.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc
