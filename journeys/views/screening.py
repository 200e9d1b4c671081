"""The pre-visit questionnaire behind the link in a visit's reminder (no account; the
signed link is the credential). A GET writes nothing, so a link-preview bot that fetches
the link records nothing; the answers are one POST, stored once. The page shows nothing
of the patient but the first name, and of the visit its date, time and doctor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from clinic_crm.staff.access import public

from ..models import Screening, ScreeningQuestion, Visit
from ..models.screening import choice_options
from ..screening_links import ScreeningLinkProblem, screening_link_target
from ..selectors_screening import screening_form_for, screening_visit
from ..services.screening import (
    NO,
    SCREENING_ANSWER_MAX_LENGTH,
    YES,
    ScreeningAlreadySent,
    ScreeningClosed,
    ScreeningInvalid,
    screening_closed_reason,
    screening_field,
    screening_submit,
)

LANGUAGES = ("ru", "en")
TEMPLATE = "journeys/screening_form.html"


def _language(request: HttpRequest, visit: Visit | None) -> str:
    asked = request.POST.get("lang") or request.GET.get("lang")
    if asked in LANGUAGES:
        return asked
    if visit is not None and visit.patient.preferred_language in LANGUAGES:
        return visit.patient.preferred_language
    return "ru"


def _page(
    request: HttpRequest,
    language: str,
    visit: Visit | None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context: dict[str, Any] = {
        "lang": language,
        "other_lang": "en" if language == "ru" else "ru",
        "max_length": SCREENING_ANSWER_MAX_LENGTH,
        **extra,
    }
    if visit is not None:
        context.update(
            first_name=visit.patient.first_name,
            when=timezone.localtime(visit.starts_at, visit.branch.zone),
            doctor=visit.doctor.get_full_name(),
        )
    with translation.override(language):
        response = render(request, TEMPLATE, context, status=status)
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    return response


def _sent(request: HttpRequest, language: str, visit: Visit, screening: Screening) -> HttpResponse:
    return _page(
        request,
        language,
        visit,
        problem="sent",
        sent_at=timezone.localtime(screening.submitted_at, visit.branch.zone),
    )


def _questions(
    form_questions: Sequence[ScreeningQuestion], posted: dict[str, str], errors: dict[int, str]
) -> list[dict[str, Any]]:
    """What the page shows of each question: its text in the active language, its field,
    the options, the value to keep after a refused send, and its error (the first
    refused answer takes the focus)."""
    english = translation.get_language() == "en"
    first_error = next((q.pk for q in form_questions if q.pk in errors), None)
    shown = []
    for question in form_questions:
        field = screening_field(question.pk)
        if question.kind == ScreeningQuestion.Kind.YES_NO:
            options = [(YES, _("Yes")), (NO, _("No"))]
        else:
            options = [
                (str(n), en if english else ru)
                for n, (ru, en) in enumerate(choice_options(question.choices))
            ]
        shown.append(
            {
                "field": field,
                "kind": question.kind,
                "text": (question.text_en or question.text) if english else question.text,
                "required": question.required,
                "options": options,
                "value": posted.get(field, ""),
                "error": errors.get(question.pk, ""),
                "first_error": question.pk == first_error,
            }
        )
    return shown


@csrf_exempt  # the signed link is the credential, not a session
@public
@require_http_methods(["GET", "POST"])
def screening_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        visit_id = screening_link_target(token)
    except ScreeningLinkProblem as problem:
        language = _language(request, None)
        with translation.override(language):
            message = str(problem)  # lazy: in the page's language
        return _page(request, language, None, status=404, problem="link", message=message)
    visit = screening_visit(visit_id=visit_id)
    language = _language(request, visit)
    with translation.override(language):
        return _screening(request, token, language, visit)


def _screening(
    request: HttpRequest, token: str, language: str, visit: Visit | None
) -> HttpResponse:
    """The page of a genuine link, in the patient's language (already active)."""
    if visit is None:
        message = _("This visit no longer exists.")
        return _page(request, language, None, status=404, problem="link", message=message)
    screening: Screening | None = getattr(visit, "screening", None)
    if screening is not None:
        return _sent(request, language, visit, screening)
    closed = screening_closed_reason(visit)
    if closed is not None:
        return _page(request, language, visit, problem="closed", message=closed)
    form = screening_form_for(service_id=visit.service_id)
    if form is None:
        message = _("There is no questionnaire for this visit. Thank you!")
        return _page(request, language, visit, problem="closed", message=message)
    posted: dict[str, str] = {}
    errors: dict[int, str] = {}
    if request.method == "POST":
        posted = {k: v for k, v in request.POST.items() if isinstance(v, str)}
        try:
            screening_submit(visit=visit, form=form, posted=posted)
        except ScreeningAlreadySent as sent:
            return _sent(request, language, visit, sent.screening)
        except ScreeningInvalid as invalid:
            errors = invalid.errors
        except ScreeningClosed as error:
            return _page(request, language, visit, problem="closed", message=str(error))
        else:
            return _page(request, language, visit, problem="thanks")
    return _page(
        request,
        language,
        visit,
        status=400 if errors else 200,
        token=token,
        questions=_questions(list(form.questions.all()), posted, errors),
        error_count=len(errors),
    )
