from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role

from . import selectors, services
from .forms import ConsentForm, FamilyLinkForm, MergeForm, PatientForm
from .models import Patient

ALL_STAFF = tuple(Role.values)
# Registering and editing cards, recording consents: the front desk and care coordinators.
EDITORS = (Role.ADMINISTRATOR, Role.CURATOR)
# Merging duplicates is a data-quality decision: administrators and managers.
MERGERS = (Role.ADMINISTRATOR, Role.MANAGER)
PAGE_SIZE = 50


class CountlessPage:
    """One page of a query without COUNT(*): at a million patients a count costs more
    than the page. Fetches one row more than shown to know whether a next page exists."""

    def __init__(self, queryset, number: str | None, size: int = PAGE_SIZE):
        try:
            self.number = max(1, int(number or 1))
        except ValueError:
            self.number = 1
        start = (self.number - 1) * size
        rows = list(queryset[start : start + size + 1])
        self.object_list = rows[:size]
        self.has_next = len(rows) > size
        self.has_previous = self.number > 1

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def _branch(request: HttpRequest) -> int | None:
    return selectors.branch_scope(request.user)


def _get_patient(request: HttpRequest, patient_id: int) -> Patient:
    try:
        return selectors.patient_detail(patient_id=patient_id, branch_id=_branch(request))
    except Patient.DoesNotExist as exc:
        raise Http404 from exc


def _add_error(form, exc: services.PatientError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@role_required(*ALL_STAFF)
def patient_list_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    patients, truncated = selectors.patient_search_bounded(query=query, branch_id=_branch(request))
    page = CountlessPage(patients, request.GET.get("page"))
    template = "patients/patient_list_rows.html" if request.htmx else "patients/patient_list.html"
    return render(
        request,
        template,
        {
            "page": page,
            "q": query,
            "truncated": truncated,
            "cap": selectors.SEARCH_CAP,
            "can_create": request.user.has_role(*EDITORS),
        },
    )


def _detail_context(request: HttpRequest, patient: Patient, consent_form=None) -> dict:
    history = list(selectors.consent_history(patient=patient))
    state = selectors.consent_state(patient, history=history)
    user = request.user
    return {
        "patient": patient,
        "consent_history": history,
        "consent_state": sorted(state.values(), key=lambda r: (r.kind, r.channel)),
        "consent_form": consent_form or ConsentForm(),
        "family": list(selectors.family_members(patient=patient)),
        "referrals": list(selectors.referrals(patient=patient)),
        "duplicates": list(selectors.likely_duplicates(patient=patient)),
        "family_form": FamilyLinkForm(),
        "can_edit": user.has_role(*EDITORS) and not patient.is_merged,
        "can_merge": user.has_role(*MERGERS) and not patient.is_merged,
    }


@role_required(*ALL_STAFF)
def patient_detail_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _get_patient(request, patient_id)
    audit_record(action=AuditAction.READ, request=request, obj=patient)
    return render(request, "patients/patient_detail.html", _detail_context(request, patient))


@role_required(*EDITORS)
def patient_create_view(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None, include_status=False)
    duplicates: list[Patient] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not request.POST.get("confirm_duplicates"):
            duplicates = list(
                selectors.likely_duplicates_for(
                    last_name=data["last_name"],
                    first_name=data["first_name"],
                    birth_date=data["birth_date"],
                    phone=data["phone"],
                )
            )
        if not duplicates:
            try:
                patient, flagged = services.patient_create(
                    actor=request.user, request=request, **data
                )
            except services.PatientError as exc:
                _add_error(form, exc)
            else:
                if flagged:
                    messages.warning(
                        request,
                        _("Possible duplicate of: %(cards)s.")
                        % {"cards": ", ".join(f"{p} (#{p.pk})" for p in flagged)},
                    )
                messages.success(request, _("The patient card was created."))
                return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "duplicates": duplicates, "patient": None},
        status=400 if form.errors else 200,
    )


@role_required(*EDITORS)
def patient_edit_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _get_patient(request, patient_id)
    if patient.is_merged:
        messages.error(request, _("This card was merged into another; edit that one."))
        return redirect("patients:detail", patient_id=patient.merged_into_id)
    # The form works on a copy so that the page header keeps the saved name.
    form = PatientForm(request.POST or None, instance=copy.copy(patient))
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(
                actor=request.user, patient=patient, request=request, **form.cleaned_data
            )
        except services.PatientError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The patient card was saved."))
            return redirect("patients:detail", patient_id=patient.pk)
    else:
        audit_record(action=AuditAction.READ, request=request, obj=patient)
    return render(
        request,
        "patients/patient_form.html",
        {"form": form, "duplicates": [], "patient": patient},
        status=400 if form.errors else 200,
    )


@role_required(*EDITORS)
@require_POST
def consent_record_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _get_patient(request, patient_id)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.consent_record(
                patient=patient, actor=request.user, request=request, **form.cleaned_data
            )
        except services.PatientError as exc:
            _add_error(form, exc)
    if request.htmx:
        context = _detail_context(request, patient, form if form.errors else None)
        context["consent_saved"] = not form.errors
        return render(
            request,
            "patients/patient_detail_consents.html",
            context,
            status=400 if form.errors else 200,
        )
    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, _("The consent was recorded."))
    return redirect("patients:detail", patient_id=patient.pk)


@role_required(*EDITORS)
@require_POST
def family_link_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _get_patient(request, patient_id)
    form = FamilyLinkForm(request.POST)
    if form.is_valid():
        try:
            services.family_link(
                actor=request.user,
                patient=patient,
                relative=form.cleaned_data["relative"],
                request=request,
            )
        except services.PatientError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The family was updated."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("patients:detail", patient_id=patient.pk)


@role_required(*EDITORS)
@require_POST
def family_unlink_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _get_patient(request, patient_id)
    services.family_unlink(actor=request.user, patient=patient, request=request)
    messages.success(request, _("The patient was taken out of the family."))
    return redirect("patients:detail", patient_id=patient.pk)


@role_required(*MERGERS)
def patient_merge_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Merge this (duplicate) card into another: pick the card to keep, compare the two
    side by side, confirm."""
    source = _get_patient(request, patient_id)
    if source.is_merged:
        messages.info(request, _("This card was merged already."))
        return redirect("patients:detail", patient_id=source.pk)
    target, target_error = None, ""
    if request.method == "POST":
        form = MergeForm(request.POST, source=source)
        if form.is_valid():
            target = form.cleaned_data["target"]
            try:
                services.patient_merge(
                    actor=request.user, source=source, target=target, request=request
                )
            except services.PatientError as exc:
                _add_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Card #%(source)s was merged into this card.") % {"source": source.pk},
                )
                return redirect("patients:detail", patient_id=target.pk)
        else:
            target, _error = _merge_target(form, request.POST.get("target"))
    else:
        form = MergeForm(source=source, initial={"target": request.GET.get("target")})
        target, target_error = _merge_target(form, request.GET.get("target"))
    audit_record(action=AuditAction.READ, request=request, obj=source)
    if target is not None:
        audit_record(action=AuditAction.READ, request=request, obj=target)
    query = request.GET.get("q", "")
    candidates = []
    if query:
        candidates = list(selectors.patient_search(query=query).exclude(pk=source.pk)[:20])
    return render(
        request,
        "patients/patient_merge.html",
        {
            "source": source,
            "target": target,
            "form": form,
            "duplicates": list(selectors.likely_duplicates(patient=source)),
            "candidates": candidates,
            "q": query,
            "target_error": target_error,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _merge_target(form: MergeForm, value: str | None) -> tuple[Patient | None, str]:
    """The card chosen to keep, for the side-by-side comparison, or why it can't be."""
    if not value:
        return None, ""
    try:
        return form.fields["target"].clean(value), ""
    except ValidationError as exc:
        return None, exc.messages[0]
