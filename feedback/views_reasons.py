"""Staff pages about the reasons found in comments: staff correcting a response's
reasons, and for managers how often the tagger agrees with them."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic_crm.forms import has_control_characters
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role

from .access import REASON_EDITOR_ROLES, response_or_404
from .corrections import response_reasons_correct
from .selectors import reason_agreement
from .services import FeedbackError

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


def _local_path(request: HttpRequest, target: str) -> bool:
    """A path on this site: not another host ("//evil.example"), not a scheme, no CR/LF
    that would split the Location header."""
    return (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and not has_control_characters(target, allowed="")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    )


@require_POST
@role_required(*REASON_EDITOR_ROLES)
def response_reasons_view(request: HttpRequest, response_id: int) -> HttpResponse:
    """Sets the reasons of one answer (``reasons``, any number) and goes back to
    ``next`` (a path on this site; else the patient's timeline)."""
    user = cast("User", request.user)  # role_required let only staff through
    response = response_or_404(user, response_id)
    target = request.POST.get("next", "")
    if not _local_path(request, target):
        target = reverse("journeys:timeline", args=[response.patient_id])
    try:
        response_reasons_correct(
            actor=user, response=response, reason_keys=request.POST.getlist("reasons")
        )
    except FeedbackError as error:
        for problem in error.messages:
            messages.error(request, problem)
    else:
        messages.success(request, _("The reasons were saved."))
    return HttpResponseRedirect(target)


@require_GET
@role_required(Role.MANAGER)
def reason_agreement_view(request: HttpRequest) -> HttpResponse:
    """Managers: how often the reasons found in comments were what staff chose."""
    return render(request, "feedback/reason_agreement.html", {"agreement": reason_agreement()})
