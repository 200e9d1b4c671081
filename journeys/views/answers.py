"""The pages behind the links in a patient's messages (no account; the signed token is
the credential): the reminder's answer page and "how do you feel?"."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.messaging.services.inbound import AnswerTextInvalid
from clinic_crm.staff.access import public
from patients.models import Patient
from patients.zones import patient_zone

from ..errors import JourneyError
from ..models import LinkAnswer, Visit
from ..patient_links import VisitLinkProblem, feel_link_target, visit_link_target
from ..selectors import link_answer_find
from ..services.answers import (
    FEEL_COMMENT_MAX_LENGTH,
    VISIT_ANSWERS,
    VISIT_NOTE_MAX_LENGTH,
    feel_answer_record,
    visit_answer_record,
)


def _visit_problem(request: HttpRequest, message: str, status: int = 200) -> HttpResponse:
    return render(request, "journeys/visit_answer.html", {"problem": message}, status=status)


def _already_answered(answer: LinkAnswer, patient: Patient) -> dict:
    """What the page says about an answer given before: which, and when (the patient's
    time)."""
    zone = patient_zone(patient)
    return {"answered": answer, "answered_at": timezone.localtime(answer.answered_at, zone)}


@csrf_exempt  # the signed token is the credential, not a session
@public
def visit_answer_view(request: HttpRequest, token: str) -> HttpResponse:
    """The reminder's link: the patient confirms the visit, cancels it, or asks for
    another time, once. Shows only what the reminder already said (when, who, where)."""
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
        context: dict = {"note_max_length": VISIT_NOTE_MAX_LENGTH}
        status = 200
        if request.method == "POST":
            action = request.POST.get("action", "")
            if action not in VISIT_ANSWERS:
                return _visit_problem(request, _("Choose one of the buttons."), status=400)
            try:
                outcome = visit_answer_record(
                    visit=visit, action=action, note=request.POST.get("note", "")
                )
            except AnswerTextInvalid as error:
                context["note_error"], status = str(error), 400
            except JourneyError as error:
                return _visit_problem(request, str(error))
            else:
                if outcome.recorded:
                    context["done"] = action
                else:
                    context.update(_already_answered(outcome.answer, visit.patient))
        else:
            answered = link_answer_find(link=LinkAnswer.Link.VISIT, visit=visit)
            if answered is not None:
                context.update(_already_answered(answered, visit.patient))
        context.update(
            visit=visit,
            when=timezone.localtime(visit.starts_at, visit.branch.zone),
            doctor=str(visit.doctor),
            can_change=visit.status in Visit.UPCOMING and visit.starts_at > timezone.now(),
        )
        return render(request, "journeys/visit_answer.html", context, status=status)


@csrf_exempt  # the signed token is the credential, not a session
@public
def feel_answer_view(request: HttpRequest, token: str) -> HttpResponse:
    """ "How do you feel?": one tap, once. "Not well" opens a task for the curator."""
    visit_id = feel_link_target(token)
    visit = (
        Visit.objects.select_related("patient", "doctor").filter(pk=visit_id).first()
        if visit_id
        else None
    )
    if visit is None:
        return render(request, "journeys/feel_answer.html", {"invalid": True}, status=404)
    with translation.override(visit.patient.preferred_language or "ru"):
        context: dict = {"visit": visit, "comment_max_length": FEEL_COMMENT_MAX_LENGTH}
        answer = ""
        if request.method == "POST":
            answer = request.POST.get("answer", "")
            if answer not in (LinkAnswer.Answer.WELL, LinkAnswer.Answer.UNWELL):
                return render(
                    request, "journeys/feel_answer.html", {**context, "bad": True}, status=400
                )
            try:
                outcome = feel_answer_record(
                    visit=visit,
                    well=answer == LinkAnswer.Answer.WELL,
                    comment=request.POST.get("comment", ""),
                )
            except AnswerTextInvalid as error:
                context["comment_error"] = str(error)
                return render(request, "journeys/feel_answer.html", context, status=400)
            if outcome.recorded:
                context["answer"] = answer
            else:
                context.update(_already_answered(outcome.answer, visit.patient))
        else:
            answered = link_answer_find(link=LinkAnswer.Link.FEEL, visit=visit)
            if answered is not None:
                context.update(_already_answered(answered, visit.patient))
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=visit,
            patient_id=visit.patient_id,
            details={"via": "feel_link", "answer": answer},
        )
        return render(request, "journeys/feel_answer.html", context)
