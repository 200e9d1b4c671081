"""Staff pages of kiosk mode: managers register and revoke the reception tablets; the
front desk gets the six-digit code for a visit slip and sends a completed visit's survey
to the branch's tablet ("next patient")."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic_crm.audit.services import audit_list_read
from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.access import role_required
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from journeys import access as journey_access
from journeys.models import Visit

from .kiosk import (
    NAME_MAX,
    PAIRING_HOURS,
    Pairing,
    kiosk_device_pairing_renew,
    kiosk_device_register,
    kiosk_device_revoke,
    kiosk_devices,
    kiosk_push,
    kiosk_push_candidates,
    kiosk_visit_code,
)
from .models_kiosk import KioskDevice
from .services import FeedbackError

MAX_ID = 2**63 - 1  # ids beyond a bigint are nobody


class KioskDeviceForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Tablet name"),
        max_length=NAME_MAX,
        help_text=gettext_lazy("Where it stands, e.g. “Reception, 1st floor”."),
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"),
        queryset=Branch.objects.none(),
        empty_label=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args: Any, branches: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> User:
    # role_required let only a logged-in staff member through.
    return cast(User, request.user)


def _branch_ids(user: Any) -> frozenset[int] | None:
    branches = journey_access.branches_of(user)
    scope_all = journey_access.covers_branch(user, None)
    return None if scope_all else frozenset(branches.values_list("pk", flat=True))


def _devices_page(
    request: HttpRequest,
    form: KioskDeviceForm,
    *,
    pairing: Pairing | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "devices": kiosk_devices(_branch_ids(request.user)),
        "form": form,
        "pairing_hours": PAIRING_HOURS,
    }
    if pairing is not None:
        context["pairing"] = pairing
        context["pairing_url"] = (
            request.build_absolute_uri(reverse("kiosk:pair")) + "#" + pairing.secret
        )
    response = render(request, "feedback/kiosk_devices.html", context, status=status)
    response["Cache-Control"] = "no-store, private"  # the secret is shown once
    return response


@role_required(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def kiosk_devices_view(request: HttpRequest) -> HttpResponse:
    """The tablets, and registering one: the answer shows its pairing secret, once."""
    branches = journey_access.branches_of(request.user)
    if request.method == "GET":
        return _devices_page(request, KioskDeviceForm(branches=branches))
    form = KioskDeviceForm(request.POST, branches=branches)
    if not form.is_valid():
        return _devices_page(request, form, status=400)
    try:
        pairing = kiosk_device_register(
            actor=_actor(request),
            name=form.cleaned_data["name"],
            branch=form.cleaned_data["branch"],
        )
    except FeedbackError as error:
        for field, problems in getattr(error, "message_dict", {"name": error.messages}).items():
            form.add_error(field if field in form.fields else None, problems)
        return _devices_page(request, form, status=400)
    return _devices_page(request, KioskDeviceForm(branches=branches), pairing=pairing)


def _device_or_404(request: HttpRequest, device_id: int) -> KioskDevice:
    if not 0 < device_id <= MAX_ID:
        raise Http404
    device = kiosk_devices(_branch_ids(request.user)).filter(pk=device_id).first()
    if device is None:
        raise Http404
    return device


@role_required(Role.MANAGER)
@require_POST
def kiosk_device_revoke_view(request: HttpRequest, device_id: int) -> HttpResponse:
    device = _device_or_404(request, device_id)
    kiosk_device_revoke(actor=_actor(request), device=device)
    messages.success(
        request, _("“%(name)s” is revoked: the tablet can't be used any more.") % {"name": device}
    )
    return HttpResponseRedirect(reverse("kiosk:devices"))


@role_required(Role.MANAGER)
@require_POST
def kiosk_device_pairing_view(request: HttpRequest, device_id: int) -> HttpResponse:
    """A new pairing secret for a tablet that was reset or replaced."""
    device = _device_or_404(request, device_id)
    branches = journey_access.branches_of(request.user)
    try:
        pairing = kiosk_device_pairing_renew(actor=_actor(request), device=device)
    except FeedbackError as error:
        messages.error(request, error.messages[0])
        return HttpResponseRedirect(reverse("kiosk:devices"))
    return _devices_page(request, KioskDeviceForm(branches=branches), pairing=pairing)


# --- the front desk ----------------------------------------------------------------------


def _visit_for_desk(request: HttpRequest, visit_id: object) -> Visit:
    try:
        pk = int(str(visit_id))
    except ValueError:
        raise Http404 from None
    if not 0 < pk <= MAX_ID:
        raise Http404
    visit = journey_access.visit_or_404(request.user, pk)
    if not journey_access.can_schedule_at(request.user, visit.branch_id):
        raise PermissionDenied(_("You work with another branch's visits."))
    return visit


@role_required(Role.ADMINISTRATOR)
@require_GET
def kiosk_visits_view(request: HttpRequest) -> HttpResponse:
    """Today's completed visits whose survey is still open: the code for the slip, and
    "next patient" to the branch's tablet."""
    user = request.user
    branches = journey_access.branches_of(user)
    visits = journey_access.visits_visible(user, Visit.objects.filter(branch__in=branches))
    invitations = list(kiosk_push_candidates(visits)[:100])
    audit_list_read(
        request=request,
        page="kiosk:visits",
        patient_ids=[invitation.patient_id for invitation in invitations],
    )
    tablets = {
        branch_id
        for branch_id in kiosk_devices(_branch_ids(user))
        .filter(revoked_at__isnull=True, paired_at__isnull=False)
        .values_list("branch_id", flat=True)
    }
    rows = [
        {
            "invitation": invitation,
            "visit": invitation.visit,
            "code": getattr(invitation, "kiosk_code", None),
            "tablet": invitation.visit.branch_id in tablets,
        }
        for invitation in invitations
    ]
    return render(request, "feedback/kiosk_visits.html", {"rows": rows})


def _back(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("kiosk:visits"))


@role_required(Role.ADMINISTRATOR)
@require_POST
def kiosk_visit_code_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_for_desk(request, visit_id)
    try:
        code = kiosk_visit_code(visit=visit)
    except FeedbackError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("The code for the visit slip: %(code)s") % {"code": code})
    return _back(request)


@role_required(Role.ADMINISTRATOR)
@require_POST
def kiosk_push_view(request: HttpRequest) -> HttpResponse:
    """ "Next patient": the completed visit's survey on the branch's tablet."""
    visit = _visit_for_desk(request, request.POST.get("visit", ""))
    try:
        kiosk_push(actor=_actor(request), visit=visit)
    except FeedbackError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("The survey is on the tablet: %(patient)s can answer now.")
            % {"patient": visit.patient.first_name},
        )
    return _back(request)
