"""The visit panel's "Undo" button: arrival, start or a no-show marked by mistake
(``journeys.services.visit_undo``)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys.errors import JourneyError
from journeys.models import Visit
from journeys.services.visit_undo import visit_status_undo
from journeys.views.visits import visit_or_404, visit_panel


class UndoForm(forms.Form):
    # The journey event of the step the panel showed: a step made since is not undone.
    step = forms.IntegerField(min_value=1, max_value=2**63 - 1)


UNDONE_NOTICE = {
    Visit.Status.ARRIVED: gettext_lazy("Arrival is undone."),
    Visit.Status.IN_PROGRESS: gettext_lazy("The start of the visit is undone."),
    Visit.Status.NO_SHOW: gettext_lazy("The no-show is undone."),
}


@require_POST
@role_required(Role.ADMINISTRATOR)
def visit_undo_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = visit_or_404(request, visit_id, change=True)
    form = UndoForm(request.POST)
    if not form.is_valid():
        return visit_panel(request, visit, error=_("Reload the visit and try again."))
    undone = visit.status
    try:
        visit_status_undo(actor=request.user, visit=visit, step_id=form.cleaned_data["step"])
    except JourneyError as exc:
        return visit_panel(request, visit, error=str(exc), changed=True)
    return visit_panel(request, visit, notice=str(UNDONE_NOTICE.get(undone, "")), changed=True)
