"""Doctor's timeline, treatment plans and completing a visit with a next step."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys import access, selectors
from journeys.errors import JourneyError
from journeys.forms import (
    ChangeDoctorForm,
    NoteForm,
    OptionForm,
    PlanCreateForm,
    ReasonForm,
    StageFormSet,
    VisitCompleteForm,
)
from journeys.models import JourneyEvent, PlanOption, Stage, TreatmentPlan, Visit
from journeys.services.plans import (
    StageSpec,
    journey_note_add,
    plan_abandon,
    plan_change_lead_doctor,
    plan_choose_option,
    plan_create,
    plan_option_add,
    plan_propose,
)
from journeys.services.visit_completion import active_plan, visit_complete
from patients import access as patient_access
from patients.models import Patient

ALL_STAFF = tuple(Role.values)
CLINICAL_WRITERS = (Role.DOCTOR, Role.CURATOR)


def _patient_or_404(request: HttpRequest, patient_id: int) -> Patient:
    """The patient if the access rule lets the user see the record; otherwise 404, as if
    it did not exist."""
    return patient_access.patient_or_404(
        request.user, patient_id, Patient.objects.select_related("home_branch")
    )


@role_required(*ALL_STAFF)
def timeline_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient_or_404(request, patient_id)
    kinds = [k for k in request.GET.getlist("kind") if k in JourneyEvent.Kind.values]
    if request.htmx and request.GET.get("fragment") == "events":
        events = list(selectors.timeline_events(patient_id=patient.pk, kinds=kinds))
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=patient,
            details={"page": "timeline events", "kinds": kinds},
        )
        return render(
            request, "journeys/timeline_events.html", {"events": events, "patient": patient}
        )
    timeline = selectors.patient_timeline(patient=patient, kinds=kinds)
    audit_record(
        action=AuditAction.READ, request=request, obj=patient, details={"page": "timeline"}
    )
    return render(
        request,
        "journeys/timeline.html",
        {
            "t": timeline,
            "patient": patient,
            "event_kinds": JourneyEvent.Kind.choices,
            "can_write": request.user.has_role(*CLINICAL_WRITERS),
            "is_doctor": request.user.has_role(Role.DOCTOR),
            "note_form": NoteForm(),
        },
    )


@role_required(Role.DOCTOR)
def plan_create_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient_or_404(request, patient_id)
    if request.method == "GET":
        audit_record(
            action=AuditAction.READ, request=request, obj=patient, details={"page": "new plan"}
        )
    initial = {"lead_doctor": request.user.pk, "branch": patient.home_branch_id}
    form = PlanCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            plan = plan_create(actor=request.user, patient=patient, **form.cleaned_data)
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("journeys:plan_detail", plan_id=plan.pk)
    return render(
        request,
        "journeys/plan_form.html",
        {"form": form, "patient": patient},
        status=400 if form.errors else 200,
    )


def _plan_or_404(request: HttpRequest, plan_id: int) -> TreatmentPlan:
    return access.plan_or_404(
        request.user,
        plan_id,
        TreatmentPlan.objects.select_related("patient", "lead_doctor", "curator", "branch"),
    )


@role_required(*ALL_STAFF)
def plan_detail_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    plan = selectors.plans_with_stages(patient_id=plan.patient_id).get(pk=plan.pk)
    audit_record(action=AuditAction.READ, request=request, obj=plan, patient_id=plan.patient_id)
    return render(
        request,
        "journeys/plan_detail.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "can_write": request.user.has_role(*CLINICAL_WRITERS),
            "is_doctor": request.user.has_role(Role.DOCTOR),
            "abandon_form": ReasonForm(),
            "doctor_form": ChangeDoctorForm(),
        },
    )


@role_required(Role.DOCTOR)
def plan_option_add_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    if request.method == "GET":
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=plan,
            patient_id=plan.patient_id,
            details={"page": "new option"},
        )
    form = OptionForm(request.POST or None, prefix="option")
    stages = StageFormSet(request.POST or None, prefix="stages")
    if request.method == "POST" and form.is_valid() and stages.is_valid():
        specs = [
            StageSpec(
                title=s["title"],
                purpose=s.get("purpose", ""),
                specialty=s["specialty"],
                service=s.get("service"),
                significant=s.get("significant", False),
                offset_days=s["offset_days"],
                window_days=s["window_days"],
            )
            for s in stages.cleaned_data
            if s and not s.get("DELETE")
        ]
        try:
            plan_option_add(actor=request.user, plan=plan, stages=specs, **form.cleaned_data)
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Option added."))
            return redirect("journeys:plan_detail", plan_id=plan.pk)
    return render(
        request,
        "journeys/plan_option_form.html",
        {"plan": plan, "form": form, "stages": stages},
        status=400 if request.method == "POST" else 200,
    )


def _run(request: HttpRequest, plan: TreatmentPlan, action, success: str) -> HttpResponse:
    try:
        action()
    except JourneyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("journeys:plan_detail", plan_id=plan.pk)


@role_required(Role.DOCTOR)
@require_POST
def plan_propose_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    return _run(
        request,
        plan,
        lambda: plan_propose(actor=request.user, plan=plan),
        _("The plan is proposed to the patient."),
    )


@role_required(*CLINICAL_WRITERS, Role.ADMINISTRATOR)
@require_POST
def plan_choose_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    option = get_object_or_404(PlanOption, pk=_int_or_404(request.POST.get("option")), plan=plan)
    return _run(
        request,
        plan,
        lambda: plan_choose_option(actor=request.user, plan=plan, option=option),
        _("The patient's decision is recorded."),
    )


@role_required(*CLINICAL_WRITERS)
@require_POST
def plan_abandon_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    form = ReasonForm(request.POST)
    reason = form.data.get("reason", "")
    return _run(
        request,
        plan,
        lambda: plan_abandon(actor=request.user, plan=plan, reason=reason),
        _("The plan is closed as abandoned."),
    )


@role_required(*CLINICAL_WRITERS)
@require_POST
def plan_change_doctor_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan_or_404(request, plan_id)
    form = ChangeDoctorForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("journeys:plan_detail", plan_id=plan.pk)
    return _run(
        request,
        plan,
        lambda: plan_change_lead_doctor(
            actor=request.user,
            plan=plan,
            doctor=form.cleaned_data["doctor"],
            handover_note=form.cleaned_data["handover_note"],
        ),
        _("The plan has a new lead doctor."),
    )


@role_required(*CLINICAL_WRITERS)
@require_POST
def note_add_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _patient_or_404(request, patient_id)
    try:
        journey_note_add(actor=request.user, patient=patient, text=request.POST.get("text", ""))
    except JourneyError as exc:
        messages.error(request, str(exc))
    return redirect("journeys:timeline", patient_id=patient.pk)


def _int_or_404(value) -> int:
    if not str(value or "").isdigit() or int(value) > 2**63 - 1:
        raise Http404
    return int(value)


@role_required(Role.DOCTOR)
def visit_complete_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The form that closes a visit. It can't be sent without a next step. Only the
    visit's own doctor opens it; for anyone else the visit does not exist."""
    visit = access.visit_or_404(
        request.user,
        visit_id,
        Visit.objects.select_related("patient", "doctor", "service", "branch", "stage__option"),
    )
    if not access.can_complete_visit(request.user, visit):
        raise PermissionDenied(_("Only the visit's own doctor completes it."))
    if request.method == "GET":
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=visit,
            details={"page": "visit completion"},
        )
    plan = visit.stage.option.plan if visit.stage_id else active_plan(patient_id=visit.patient_id)
    stages = (
        Stage.objects.filter(option_id=plan.chosen_option_id, status=Stage.Status.PLANNED)
        if plan is not None and plan.chosen_option_id
        else Stage.objects.none()
    )
    form = VisitCompleteForm(request.POST or None, visit=visit, stages=stages)
    if request.method == "POST" and form.is_valid():
        try:
            visit_complete(
                actor=request.user,
                visit=visit,
                next_step=form.next_step_value(),
                price_charged=form.cleaned_data["price_charged"],
            )
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Visit completed."))
            response = redirect("journeys:timeline", patient_id=visit.patient_id)
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = reverse("journeys:timeline", args=[visit.patient_id])
            return response
    return render(
        request,
        "journeys/visit_complete.html",
        {"form": form, "visit": visit, "plan": plan},
        status=400 if form.errors else 200,
    )
