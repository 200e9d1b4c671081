from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_list_read, audit_record
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role

from . import access, card, selectors, services
from .forms import ConsentForm, FamilyLinkForm, MergeForm, PatientForm
from .models import Patient

ALL_STAFF = tuple(Role.values)
EDITORS = access.EDITOR_ROLES
MERGERS = access.MERGER_ROLES
PAGE_SIZE = 50


# Nobody pages this far (a search lists at most SEARCH_CAP cards); a bigger number is a
# page that does not exist.
MAX_PAGE = 10_000


class CountlessPage:
    """One page of a query without COUNT(*): at a million patients a count costs more
    than the page. Fetches one row more than shown to know whether a next page exists.
    A page number that is not one, or past the last page, is 404."""

    def __init__(self, queryset, number: str | None, size: int = PAGE_SIZE):
        number = str(number or "1")
        if not number.isdigit() or not 1 <= int(number) <= MAX_PAGE:
            raise Http404
        self.number = int(number)
        start = (self.number - 1) * size
        rows = list(queryset[start : start + size + 1])
        if not rows and self.number > 1:
            raise Http404
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


def _visible(request: HttpRequest):
    return access.patients_visible(request.user)


def _get_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The card if the user may see it (the access rule), else 404."""
    return access.patient_or_404(
        request.user,
        patient_id,
        Patient.objects.select_related(*selectors.DETAIL_RELATED),
    )


def _split_duplicates(request: HttpRequest, duplicates) -> tuple[list[Patient], int]:
    """Possible duplicates the user may open, and how many more exist that they may not
    (counted, never named: another branch's patient stays unseen)."""
    duplicates = list(duplicates)
    if not duplicates:
        return [], 0
    visible = set(
        _visible(request).filter(pk__in=[p.pk for p in duplicates]).values_list("pk", flat=True)
    )
    shown = [p for p in duplicates if p.pk in visible]
    return shown, len(duplicates) - len(shown)


def _add_error(form, exc: services.PatientError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@role_required(*ALL_STAFF)
def patient_list_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    patients, truncated = selectors.patient_search_bounded(query=query, patients=_visible(request))
    page = CountlessPage(patients, request.GET.get("page"))
    audit_list_read(request=request, page="patient search", patient_ids=[p.pk for p in page])
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
    visible = _visible(request)
    duplicates, hidden_duplicates = _split_duplicates(
        request, selectors.likely_duplicates(patient=patient)
    )
    return {
        "patient": patient,
        "consent_history": history,
        "consent_state": sorted(state.values(), key=lambda r: (r.kind, r.channel)),
        "consent_form": consent_form or ConsentForm(),
        # Relatives and referrals of another branch are not named on this card.
        "family": list(selectors.family_members(patient=patient).filter(pk__in=visible)),
        "referrals": list(selectors.referrals(patient=patient).filter(pk__in=visible)),
        "duplicates": duplicates,
        "hidden_duplicates": hidden_duplicates,
        "family_form": FamilyLinkForm(patients=visible),
        "can_edit": access.can_edit_patient(user, patient),
        "can_merge": access.can_merge_patients(user) and not patient.is_merged,
    }


@role_required(*ALL_STAFF)
def patient_detail_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _get_patient(request, patient_id)
    audit_record(action=AuditAction.READ, request=request, obj=patient)
    context = _detail_context(request, patient)
    # What higher apps show on the card (the journey summary…), registered with card.
    context["card_panels"] = card.card_panels(request=request, patient=patient)
    context["card_links"] = card.card_links(patient=patient)
    return render(request, "patients/patient_detail.html", context)


def _patient_form(request: HttpRequest, **kwargs) -> PatientForm:
    return PatientForm(
        request.POST or None,
        patients=_visible(request),
        scope=access.scope_of(request.user),
        **kwargs,
    )


@role_required(*EDITORS)
def patient_create_view(request: HttpRequest) -> HttpResponse:
    form = _patient_form(request, include_status=False)
    duplicates: list[Patient] = []
    hidden_duplicates = 0
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not request.POST.get("confirm_duplicates"):
            duplicates, hidden_duplicates = _split_duplicates(
                request,
                selectors.likely_duplicates_for(
                    last_name=data["last_name"],
                    first_name=data["first_name"],
                    birth_date=data["birth_date"],
                    phone=data["phone"],
                ),
            )
        if not duplicates and not hidden_duplicates:
            try:
                patient, flagged = services.patient_create(
                    actor=request.user, request=request, **data
                )
            except services.PatientError as exc:
                _add_error(form, exc)
            else:
                flagged, _hidden = _split_duplicates(request, flagged)
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
        {
            "form": form,
            "duplicates": duplicates,
            "hidden_duplicates": hidden_duplicates,
            "patient": None,
        },
        status=400 if form.errors else 200,
    )


@role_required(*EDITORS)
def patient_edit_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _get_patient(request, patient_id)
    if patient.is_merged:
        messages.error(request, _("This card was merged into another; edit that one."))
        return redirect("patients:detail", patient_id=patient.merged_into_id)
    # The form works on a copy so that the page header keeps the saved name.
    form = _patient_form(request, instance=copy.copy(patient))
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
    form = FamilyLinkForm(request.POST, patients=_visible(request))
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
    visible = _visible(request)
    if request.method == "POST":
        form = MergeForm(request.POST, source=source, patients=visible)
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
        form = MergeForm(
            source=source, patients=visible, initial={"target": request.GET.get("target")}
        )
        target, target_error = _merge_target(form, request.GET.get("target"))
    audit_record(action=AuditAction.READ, request=request, obj=source)
    if target is not None:
        audit_record(action=AuditAction.READ, request=request, obj=target)
    query = request.GET.get("q", "")
    candidates = []
    if query:
        candidates = list(
            selectors.patient_search(query=query, patients=visible).exclude(pk=source.pk)[:20]
        )
    duplicates, _hidden = _split_duplicates(request, selectors.likely_duplicates(patient=source))
    return render(
        request,
        "patients/patient_merge.html",
        {
            "source": source,
            "target": target,
            "form": form,
            "duplicates": duplicates,
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
