from __future__ import annotations

import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import public, role_required
from clinic_crm.staff.roles import Role
from journeys.services.scheduling import branch_zone
from patients.models import Language, Patient

from .backends import backend_for
from .forms import OutboxFilterForm
from .links import VisitLinkProblem, feel_link_target, optout_target, visit_link_target
from .models import PATIENT_KIND_LABELS, Message, MessageChannel, MessageKind
from .selectors import outbox_daily_counts, outbox_messages
from .services import delivery_reports_record, message_optout, message_retry

OUTBOX_PAGE = 50


@role_required(Role.MANAGER)
def outbox_view(request: HttpRequest) -> HttpResponse:
    """Managers' outbox: what went out, what waits, what failed and why; daily counts."""
    form = OutboxFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    elif form.is_bound:
        filters = None
    try:
        page = max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        page = 1
    rows, counts = [], []
    if filters is not None:
        start = (page - 1) * OUTBOX_PAGE
        rows = list(outbox_messages(**filters)[start : start + OUTBOX_PAGE + 1])
        counts = outbox_daily_counts(
            **{k: v for k, v in filters.items() if k in ("date_from", "date_to", "kind", "channel")}
        )
    audit_record(
        action=AuditAction.READ,
        request=request,
        details={"page": "outbox", "filters": {k: str(v) for k, v in (filters or {}).items()}},
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "messages_page": rows[:OUTBOX_PAGE],
        "has_next": len(rows) > OUTBOX_PAGE,
        "page_number": page,
        "counts": counts,
        "query": query.urlencode(),
    }
    template = "messaging/outbox_rows.html" if request.htmx else "messaging/outbox.html"
    return render(request, template, context)


@require_POST
@role_required(Role.MANAGER)
def message_retry_view(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("patient"), pk=message_id)
    was = message.status
    message = message_retry(message=message, actor=request.user)
    if message.status != was:
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            obj=message,
            patient_id=message.patient_id,
            details={"retry": True},
        )
    return render(request, "messaging/outbox_row.html", {"m": message, "retried": True})


@csrf_exempt  # the signed token is the credential, not a session
@public
def optout_view(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click "no more of these" from a message: the page asks once, the button
    (or a mail client's List-Unsubscribe-Post) records it. Nothing about the patient is
    shown."""
    target = optout_target(token)
    if target is None:
        return render(request, "messaging/optout.html", {"invalid": True}, status=404)
    patient_id, kind = target
    if not Patient.objects.filter(pk=patient_id).exists():
        return render(request, "messaging/optout.html", {"invalid": True}, status=404)
    kind_label = PATIENT_KIND_LABELS.get(kind, MessageKind(kind).label)
    if request.method == "POST":
        message_optout(patient_id=patient_id, kind=kind)
        audit_record(
            action=AuditAction.UPDATE,
            request=request,
            patient_id=patient_id,
            details={"opt_out": kind, "via": "message_link"},
        )
        return render(request, "messaging/optout.html", {"done": True, "kind": kind_label})
    return render(request, "messaging/optout.html", {"kind": kind_label})


@csrf_exempt
@public
@require_POST
def delivery_callback_view(request: HttpRequest, channel: str, token: str) -> HttpResponse:
    """Where a provider reports delivery. The secret in the address is the credential."""
    expected = settings.MESSAGING_CALLBACK_TOKEN
    if not expected or not constant_time_compare(token, expected):
        raise Http404
    if channel not in MessageChannel.values:
        raise Http404
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "invalid JSON"}, status=400)
        if not isinstance(data, dict):
            return JsonResponse({"error": "expected an object"}, status=400)
    else:
        data = request.POST.dict()
    reports = backend_for(channel).parse_delivery_report(data)
    updated = delivery_reports_record(channel=channel, reports=reports)
    return JsonResponse({"reports": len(reports), "updated": updated})


VISIT_ACTIONS = ("confirm", "cancel", "reschedule")


def visit_zone(visit):
    return branch_zone(visit.branch)


def _visit_problem(request: HttpRequest, message: str, status: int = 200) -> HttpResponse:
    return render(request, "messaging/visit_answer.html", {"problem": message}, status=status)


@csrf_exempt  # the signed token is the credential, not a session
@public
def visit_answer_view(request: HttpRequest, token: str) -> HttpResponse:
    """The reminder's link: the patient confirms the visit, cancels it, or asks for
    another time. Shows only what the reminder already said (when, who, where)."""
    from journeys.errors import JourneyError
    from journeys.models import Visit

    from .services import visit_answer_record

    try:
        visit_id, start = visit_link_target(token)
    except VisitLinkProblem as problem:
        return _visit_problem(request, str(problem), status=404)
    visit = (
        Visit.objects.select_related("patient", "doctor__profile", "branch", "service", "stage")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        return _visit_problem(request, _("This visit no longer exists."), status=404)
    language = visit.patient.preferred_language or "ru"
    with translation.override(language):
        if int(visit.starts_at.timestamp()) != start:
            return _visit_problem(
                request, _("This visit was moved. Please use the link in your latest message.")
            )
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=visit,
            patient_id=visit.patient_id,
            details={"via": "visit_link"},
        )
        done = ""
        if request.method == "POST":
            action = request.POST.get("action", "")
            if action not in VISIT_ACTIONS:
                return _visit_problem(request, _("Choose one of the buttons."), status=400)
            try:
                visit_answer_record(visit=visit, action=action, note=request.POST.get("note", ""))
            except JourneyError as error:
                return _visit_problem(request, str(error))
            done = action
        context = {
            "visit": visit,
            "when": timezone.localtime(visit.starts_at, visit_zone(visit)),
            "doctor": str(visit.doctor),
            "done": done,
            "can_change": visit.status in Visit.UPCOMING and visit.starts_at > timezone.now(),
        }
        return render(request, "messaging/visit_answer.html", context)


@csrf_exempt  # the signed token is the credential, not a session
@public
def feel_answer_view(request: HttpRequest, token: str) -> HttpResponse:
    """ "How do you feel?": one tap. "Not well" opens a task for the curator."""
    from journeys.models import Visit

    from .services import feel_answer_record

    visit_id = feel_link_target(token)
    visit = (
        Visit.objects.select_related("patient", "doctor").filter(pk=visit_id).first()
        if visit_id
        else None
    )
    if visit is None:
        return render(request, "messaging/feel_answer.html", {"invalid": True}, status=404)
    with translation.override(visit.patient.preferred_language or "ru"):
        answer = ""
        if request.method == "POST":
            answer = request.POST.get("answer", "")
            if answer not in ("well", "unwell"):
                return render(
                    request, "messaging/feel_answer.html", {"visit": visit, "bad": True}, status=400
                )
            feel_answer_record(
                visit=visit, well=answer == "well", comment=request.POST.get("comment", "")
            )
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=visit,
            patient_id=visit.patient_id,
            details={"via": "feel_link", "answer": answer},
        )
        return render(request, "messaging/feel_answer.html", {"visit": visit, "answer": answer})


@require_POST
@role_required(Role.MANAGER)
def template_preview_view(request: HttpRequest) -> HttpResponse:
    """The template editor's live preview: the text for an example patient, or what is
    wrong with it (the same check as saving)."""
    from django.core.exceptions import ValidationError

    from .rendering import example_render, template_check

    subject = request.POST.get("subject", "")[:200]
    body = request.POST.get("body", "")[:10_000]
    language = request.POST.get("language") or "ru"
    if language not in dict(Language.choices):
        language = "ru"
    try:
        template_check(subject=subject, body=body)
    except ValidationError as error:
        return render(request, "messaging/template_preview.html", {"errors": error.messages})
    subject, body = example_render(subject=subject, body=body, language=language)
    return render(request, "messaging/template_preview.html", {"subject": subject, "body": body})
