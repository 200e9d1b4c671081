from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import public, role_required
from clinic_crm.staff.roles import Role
from patients.models import Language, Patient

from .backends import backend_for, channel_enabled
from .forms import OutboxFilterForm
from .links import optout_target
from .models import PATIENT_KIND_LABELS, Message, MessageChannel, MessageKind
from .selectors import outbox_daily_counts, outbox_messages
from .services.inbound import delivery_reports_record, message_optout
from .services.outbox import message_retry

logger = logging.getLogger("clinic_crm.messaging")

OUTBOX_PAGE = 50
MAX_OUTBOX_PAGE = 10_000


@role_required(Role.MANAGER)
def outbox_view(request: HttpRequest) -> HttpResponse:
    """Managers' outbox: what went out, what waits, what failed and why; daily counts."""
    form = OutboxFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    elif form.is_bound:
        filters = None
    page_text = request.GET.get("page") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_OUTBOX_PAGE:
        raise Http404
    page = int(page_text)
    rows, counts = [], []
    if filters is not None:
        start = (page - 1) * OUTBOX_PAGE
        rows = list(outbox_messages(**filters)[start : start + OUTBOX_PAGE + 1])
        if not rows and page > 1:
            raise Http404  # past the last page
        counts = outbox_daily_counts(
            **{k: v for k, v in filters.items() if k in ("date_from", "date_to", "kind", "channel")}
        )
    audit_record(
        action=AuditAction.READ,
        request=request,
        details={
            "page": "outbox",
            "filters": {k: str(v) for k, v in (filters or {}).items()},
            "patient_ids": sorted({m.patient_id for m in rows[:OUTBOX_PAGE]}),
        },
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


# A delivery report is a few fields; anything much bigger is not one.
CALLBACK_MAX_BYTES = 64 * 1024


def _callback_fields(request: HttpRequest) -> tuple[dict | None, str, int]:
    """The fields of a provider's callback (form, or a JSON object), else None with what
    is wrong and the status to answer."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > CALLBACK_MAX_BYTES:
        return None, "body too large", 413
    try:
        if request.content_type == "application/json":
            data = json.loads(request.body or b"{}")
        else:
            if request.content_type == "application/x-www-form-urlencoded":
                request.body.decode()  # Django would read bad bytes as U+FFFD
            data = request.POST.dict()
    except RecursionError:  # thousands of nested brackets
        return None, "JSON nested too deeply", 400
    except UnicodeDecodeError:
        return None, "body is not UTF-8", 400
    except ValueError:  # not JSON
        return None, "invalid JSON", 400
    except (SuspiciousOperation, MultiPartParserError):  # too many fields, broken multipart
        return None, "unreadable body", 400
    if not isinstance(data, dict):
        return None, "expected an object", 400
    if not all(isinstance(value, str | int | float | bool | None) for value in data.values()):
        return None, "fields must be plain values", 400
    return data, "", 200


@csrf_exempt
@public
@require_POST
def delivery_callback_view(request: HttpRequest, channel: str, token: str) -> HttpResponse:
    """Where a provider reports delivery. The secret in the address is the credential.
    Whatever the body, the answer is a report count or a 4xx, never an error page: a
    channel that is off has no callback (404), a body we can't read is refused (400)."""
    expected = settings.MESSAGING_CALLBACK_TOKEN
    if not expected or not constant_time_compare(token, expected):
        raise Http404
    if channel not in MessageChannel.values or not channel_enabled(channel):
        raise Http404
    data, problem, status = _callback_fields(request)
    if data is None:
        return JsonResponse({"error": problem}, status=status)
    try:
        reports = backend_for(channel).parse_delivery_report(data)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        logger.warning("unreadable %s delivery report: %r", channel, exc)
        return JsonResponse({"error": "unexpected fields"}, status=400)
    updated = delivery_reports_record(channel=channel, reports=reports)
    return JsonResponse({"reports": len(reports), "updated": updated})


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
