"""The patient's survey page behind the short link (no account: the signed link is the
credential). A GET never writes, so a link-preview bot that fetches the link records
nothing; the page's own script reports "opened", and each answer is a POST saved at once.
The page shows nothing about the patient beyond the first name, the visit's date and the
clinic."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.staff.access import public
from patients.zones import patient_zone

from .answers import InvitationClosed, invitation_attributes, survey_answer_record
from .links import survey_key
from .models import NPS_MAX, Survey, SurveyInvitation
from .services import COMMENT_MAX, FeedbackError

LANGUAGES = ("ru", "en")
TEMPLATE = "feedback/survey.html"


def _invitation(token: str) -> SurveyInvitation | None:
    key = survey_key(token)
    if key is None:
        return None
    return (
        SurveyInvitation.objects.select_related("patient", "visit", "survey", "response")
        .filter(key=key)
        .first()
    )


def _language(request: HttpRequest, invitation: SurveyInvitation | None) -> str:
    asked = request.POST.get("lang") or request.GET.get("lang")
    if asked in LANGUAGES:
        return asked
    if invitation is not None and invitation.patient.preferred_language in LANGUAGES:
        return invitation.patient.preferred_language
    return "ru"


def _step(invitation: SurveyInvitation) -> str:
    response = invitation.response
    if invitation.survey.asks_nps and (response is None or response.nps_score is None):
        return "nps"
    return "details"


def _page(
    request: HttpRequest,
    invitation: SurveyInvitation | None,
    language: str,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context: dict[str, Any] = {
        "clinic_name": settings.CLINIC_NAME,
        "lang": language,
        "other_lang": "en" if language == "ru" else "ru",
        **extra,
    }
    if invitation is not None:
        zone = patient_zone(invitation.patient)
        context.update(
            token=request.resolver_match.kwargs["token"] if request.resolver_match else "",
            first_name=invitation.patient.first_name,
            visit_day=timezone.localtime(invitation.visit.starts_at, zone).date(),
            scale=range(NPS_MAX + 1),
            recovery=invitation.survey.kind == Survey.Kind.RECOVERY,
            comment_max=COMMENT_MAX,
        )
    with translation.override(language):
        response = render(request, TEMPLATE, context, status=status)
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    return response


def _details_context(invitation: SurveyInvitation, posted: dict[str, str]) -> dict[str, Any]:
    return {
        "step": "details",
        "attributes": [
            {
                "key": a.key,
                "question": a.question_en
                if translation.get_language() == "en" and a.question_en
                else a.question,
                "value": posted.get(f"attribute_{a.key}", ""),
            }
            for a in invitation_attributes(invitation)
        ],
        "asks_comment": invitation.survey.asks_comment,
        "comment": posted.get("comment", ""),
    }


@csrf_exempt  # the signed link is the credential, not a session
@public
@require_http_methods(["GET", "POST"])
def survey_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation(token)
    language = _language(request, invitation)
    if invitation is None:
        return _page(request, None, language, status=404, problem="invalid")
    if invitation.finished_at is not None:
        return _page(request, invitation, language, problem="answered")
    if invitation.expires_at <= timezone.now():
        return _page(request, invitation, language, status=410, problem="expired")
    if request.method == "GET":
        with translation.override(language):
            if _step(invitation) == "nps":
                preset = request.GET.get("nps", "")
                extra = {"step": "nps", "preset": preset if preset.isdigit() else ""}
            else:
                extra = _details_context(invitation, {})
        return _page(request, invitation, language, **extra)
    return _answer(request, invitation, language)


def _answer(request: HttpRequest, invitation: SurveyInvitation, language: str) -> HttpResponse:
    step = request.POST.get("step", "")
    posted = {k: v for k, v in request.POST.items() if isinstance(v, str)}
    with translation.override(language):
        try:
            if step == "nps":
                outcome = survey_answer_record(
                    invitation=invitation, nps_score=posted.get("nps_score"), require=("nps",)
                )
            elif step == "details":
                outcome = survey_answer_record(
                    invitation=invitation,
                    answers={
                        key.removeprefix("attribute_"): value
                        for key, value in posted.items()
                        if key.startswith("attribute_")
                    },
                    comment=posted.get("comment", ""),
                    finish=True,
                    require=("answers",),
                )
            else:
                return _page(request, invitation, language, status=400, problem="invalid")
        except InvitationClosed:
            invitation.refresh_from_db()
            if invitation.finished_at is not None:
                return _page(request, invitation, language, problem="answered")
            return _page(request, invitation, language, status=410, problem="expired")
        except FeedbackError as error:
            fields = error.message_dict if hasattr(error, "error_dict") else {}
            messages = error.messages if not fields else []
            extra = {"step": "nps"} if step == "nps" else _details_context(invitation, posted)
            return _page(
                request,
                invitation,
                language,
                status=400,
                errors={k: v[0] for k, v in fields.items()},
                general_errors=messages,
                **extra,
            )
    audit_record(
        action=AuditAction.CREATE,
        request=request,
        obj=outcome.response,
        patient_id=invitation.patient_id,
        details={"via": "survey_link", "step": step},
    )
    if not outcome.finished:
        url = reverse("feedback:survey", args=[request.resolver_match.kwargs["token"]])
        return HttpResponseRedirect(f"{url}?lang={language}", status=303)
    return _page(
        request,
        invitation,
        language,
        problem="thanks",
        negative=outcome.response.negative and invitation.survey.kind != Survey.Kind.RECOVERY,
    )


@csrf_exempt
@public
@require_POST
def survey_opened_view(request: HttpRequest, token: str) -> HttpResponse:
    """The page's script reports that a person opened the link (a bot's GET does not)."""
    invitation = _invitation(token)
    if invitation is not None:
        SurveyInvitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
    return HttpResponse(status=204)
