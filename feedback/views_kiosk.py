"""The reception tablet's pages (``/kiosk/``): no staff login — the tablet's own credential
in its cookie (``feedback.kiosk``) opens them, and only them; staff pages still want a
staff login from a tablet like from anyone.

The survey is one page: the start screen and the questions are both in it, and the
page's script (static/feedback/kiosk.js) moves between them, queues each answer in the
browser with an idempotency key and sends it when the network allows, so a patient can
finish while the connection is down. The forms also work as plain forms without it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import public
from patients.zones import patient_zone

from .answers import InvitationClosed, invitation_attributes
from .kiosk import (
    COOKIE_MAX_AGE,
    COOKIE_NAME,
    KioskRefused,
    kiosk_answer_known,
    kiosk_answer_record,
    kiosk_device_for,
    kiosk_device_pair,
    kiosk_device_seen,
    kiosk_invitation_by_code,
    kiosk_pushed_code,
)
from .models import NPS_MAX, SurveyInvitation
from .models_kiosk import KioskDevice
from .services import COMMENT_MAX, FeedbackError

LANGUAGES = ("ru", "en")
# The status of the page or answer a refusal gets.
REFUSED_STATUS = {
    "unknown": 404,
    "other_branch": 403,
    "answered": 409,
    "expired": 410,
    "throttled": 429,
    "pairing": 400,
}
KioskView = Callable[..., HttpResponse]


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _not_a_tablet(request: HttpRequest, problem: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": problem}, status=403)
    context = {"problem": problem, "clinic_name": settings.CLINIC_NAME}
    return _no_store(render(request, "feedback/kiosk_refused.html", context, status=403))


def kiosk_device_required(view: KioskView) -> KioskView:
    """Runs ``view(request, device, …)`` for a paired tablet that is not revoked; others
    get a page (or JSON) saying so. Marked public: there is no staff login here."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        device = kiosk_device_for(request.COOKIES.get(COOKIE_NAME))
        if device is None:
            return _not_a_tablet(request, "unpaired")
        if device.revoked_at is not None:
            return _not_a_tablet(request, "revoked")
        kiosk_device_seen(device)
        return view(request, device, *args, **kwargs)

    return public(wrapper)


def _kiosk_language(request: HttpRequest) -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    return language if language in LANGUAGES else "ru"


def _survey_language(request: HttpRequest, invitation: SurveyInvitation) -> str:
    asked = request.POST.get("lang") or request.GET.get("lang")
    if asked in LANGUAGES:
        return asked
    preferred = invitation.patient.preferred_language
    return preferred if preferred in LANGUAGES else _kiosk_language(request)


def _first_step(invitation: SurveyInvitation) -> str:
    response = invitation.response
    if invitation.survey.asks_nps and (response is None or response.nps_score is None):
        return "nps"
    return "details"


def _page(
    request: HttpRequest,
    device: KioskDevice,
    *,
    invitation: SurveyInvitation | None = None,
    code: str = "",
    status: int = 200,
    language: str | None = None,
    **extra: Any,
) -> HttpResponse:
    """The kiosk page: the start screen (in the tablet's language) and, with an
    ``invitation``, its questions (in the patient's)."""
    kiosk_lang = _kiosk_language(request)
    context: dict[str, Any] = {
        "clinic_name": settings.CLINIC_NAME,
        "device": device,
        "kiosk_lang": kiosk_lang,
        "idle_seconds": settings.KIOSK_IDLE_SECONDS,
        **extra,
    }
    language = language or kiosk_lang
    if invitation is not None:
        language = _survey_language(request, invitation)
        with translation.override(language):
            context.update(_survey_context(invitation, code, language))
    with translation.override(language):
        response = render(request, "feedback/kiosk_page.html", context, status=status)
    response["Content-Language"] = language
    return _no_store(response)


def _survey_context(invitation: SurveyInvitation, code: str, language: str) -> dict[str, Any]:
    zone = patient_zone(invitation.patient)
    english = language == "en"
    response = invitation.response
    answered = set(response.answers.values_list("attribute__key", flat=True)) if response else set()
    return {
        "invitation": invitation,
        "code": code,
        "lang": language,
        "other_lang": "ru" if english else "en",
        "step": _first_step(invitation),
        "first_name": invitation.patient.first_name,
        "visit_day": timezone.localtime(invitation.visit.starts_at, zone).date(),
        "scale": range(NPS_MAX + 1),
        "attributes": [
            {
                "key": a.key,
                "question": a.question_en if english and a.question_en else a.question,
                "answered": a.key in answered,
            }
            for a in invitation_attributes(invitation)
        ],
        "asks_comment": invitation.survey.asks_comment and not (response and response.comment),
        "comment_max": COMMENT_MAX,
    }


def _refused(
    request: HttpRequest, device: KioskDevice, refusal: KioskRefused, code: str = ""
) -> HttpResponse:
    return _page(
        request,
        device,
        status=REFUSED_STATUS.get(refusal.reason, 400),
        error=refusal.messages[0],
        error_reason=refusal.reason,
        typed=code if refusal.reason in ("unknown", "throttled") else "",
    )


# --- pairing ---------------------------------------------------------------------------


@public
@require_http_methods(["GET", "POST"])
def kiosk_pair_view(request: HttpRequest) -> HttpResponse:
    """Pairs this browser as a tablet with the secret a manager was shown (the pairing
    link carries it after ``#``, which browsers never send: the page's script puts it in
    the form). A GET changes nothing."""
    context: dict[str, Any] = {"clinic_name": settings.CLINIC_NAME}
    current = kiosk_device_for(request.COOKIES.get(COOKIE_NAME))
    if current is not None and current.revoked_at is None:
        context["current"] = current
    if request.method == "GET":
        return _no_store(render(request, "feedback/kiosk_pair.html", context))
    try:
        device, credential = kiosk_device_pair(secret=request.POST.get("secret", ""))
    except KioskRefused as refusal:
        context["error"] = refusal.messages[0]
        return _no_store(render(request, "feedback/kiosk_pair.html", context, status=400))
    response = HttpResponseRedirect(reverse("kiosk:start"), status=303)
    response.set_cookie(
        COOKIE_NAME,
        credential,
        max_age=COOKIE_MAX_AGE,
        path=reverse("kiosk:start"),
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )
    return response


# --- the start screen and the survey ---------------------------------------------------


@kiosk_device_required
@require_http_methods(["GET", "POST"])
def kiosk_start_view(request: HttpRequest, device: KioskDevice) -> HttpResponse:
    """The neutral start screen; a POST is the code typed from the visit slip."""
    if request.method == "GET":
        return _page(request, device)
    code = request.POST.get("code", "")[:20]
    try:
        kiosk_invitation_by_code(device=device, code=code)
    except KioskRefused as refusal:
        return _refused(request, device, refusal, code)
    digits = "".join(code.split())
    return HttpResponseRedirect(reverse("kiosk:survey", args=[digits]), status=303)


@kiosk_device_required
@require_GET
def kiosk_current_view(request: HttpRequest, device: KioskDevice) -> HttpResponse:
    """What the start screen asks every few seconds: the survey the administrator sent
    ("next patient"), once."""
    found = kiosk_pushed_code(device=device)
    url = reverse("kiosk:survey", args=[found.code]) if found is not None else None
    response = JsonResponse({"url": url})
    return _no_store(response)


@kiosk_device_required
@require_http_methods(["GET", "POST"])
def kiosk_survey_view(request: HttpRequest, device: KioskDevice, code: str) -> HttpResponse:
    """The questions of the survey behind ``code``, at the tablet's branch only. A POST
    is a plain form's answer (the page's script sends JSON to ``kiosk:answer``)."""
    try:
        invitation = kiosk_invitation_by_code(device=device, code=code)
    except KioskRefused as refusal:
        return _refused(request, device, refusal)
    if request.method == "GET":
        SurveyInvitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
        # Unlike the patient's own link, whoever stands at the tablet sees the name.
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=invitation,
            details={"via": "kiosk", "tablet": device.pk},
        )
        return _page(request, device, invitation=invitation, code=code)
    step = request.POST.get("step", "")
    language = _survey_language(request, invitation)
    with translation.override(language):
        try:
            outcome = kiosk_answer_record(
                device=device,
                idempotency_key=str(uuid.uuid4()),
                invitation=invitation,
                step=step if step in ("nps", "details") else "",
                nps_score=request.POST.get("nps_score"),
                answers={
                    key.removeprefix("attribute_"): value
                    for key, value in request.POST.items()
                    if key.startswith("attribute_")
                },
                comment=request.POST.get("comment", ""),
            )
        except InvitationClosed as closed:
            return _page(request, device, status=409, error=closed.messages[0], language=language)
        except FeedbackError as error:
            problems = error.messages
            return _page(
                request, device, invitation=invitation, code=code, status=400, errors=problems
            )
    if outcome is None:  # a fresh key is never a replay; kept for the type checker
        return HttpResponseRedirect(reverse("kiosk:survey", args=[code]), status=303)
    _audit_answer(request, device, outcome.response, step)
    if not outcome.finished:
        url = reverse("kiosk:survey", args=[code])
        return HttpResponseRedirect(f"{url}?lang={language}", status=303)
    return _page(
        request,
        device,
        thanks=True,
        negative=outcome.response.negative,
        language=language,
    )


def _audit_answer(request: HttpRequest, device: KioskDevice, response: Any, step: str) -> None:
    audit_record(
        action=AuditAction.CREATE,
        request=request,
        obj=response,
        patient_id=response.patient_id,
        details={"via": "kiosk", "tablet": device.pk, "step": step},
    )


# --- the answers' endpoint ----------------------------------------------------------------


def _json_error(error: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": error, **extra}, status=status)


@kiosk_device_required
@require_POST
def kiosk_answer_view(request: HttpRequest, device: KioskDevice) -> HttpResponse:
    """One step's answers as JSON — ``{key, code, step, nps_score | answers, comment}`` —
    sent by the page's queue, perhaps long after they were given. ``key`` (a UUID made
    in the browser) makes a replay answer 200 without recording anything twice. The CSRF
    token comes in the ``X-CSRFToken`` header, as for any POST of the site."""
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _json_error("invalid", 400)
    if not isinstance(data, dict):
        return _json_error("invalid", 400)
    try:
        key = str(uuid.UUID(str(data.get("key", ""))))
    except ValueError:
        return _json_error("invalid", 400)
    if kiosk_answer_known(key):
        return JsonResponse({"status": "duplicate"})
    step = data.get("step")
    answers = data.get("answers") or {}
    comment = data.get("comment") or ""
    code = data.get("code")
    if (
        step not in ("nps", "details", "partial")
        or not isinstance(code, str)
        or not isinstance(answers, dict)
        or not all(isinstance(k, str) for k in answers)
        or not isinstance(comment, str)
    ):
        return _json_error("invalid", 400)
    try:
        invitation = kiosk_invitation_by_code(device=device, code=code)
    except KioskRefused as refusal:
        return _json_error(
            refusal.reason, REFUSED_STATUS.get(refusal.reason, 400), message=refusal.messages[0]
        )
    with translation.override(_survey_language(request, invitation)):
        try:
            outcome = kiosk_answer_record(
                device=device,
                idempotency_key=key,
                invitation=invitation,
                step=step,
                nps_score=data.get("nps_score"),
                answers=answers,
                comment=comment,
            )
        except InvitationClosed as closed:
            return _json_error("answered", 409, message=closed.messages[0])
        except FeedbackError as error:
            return _json_error("refused", 400, messages=error.messages)
    if outcome is None:
        return JsonResponse({"status": "duplicate"})
    _audit_answer(request, device, outcome.response, step)
    return JsonResponse({"status": "recorded", "finished": outcome.finished})
