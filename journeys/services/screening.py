"""The patient's pre-visit questionnaire, sent from the link in the visit's reminder (no
account): checked answer by answer, stored once per visit, closed once the visit has
started. The doctor reads the answers on the day's list and on the timeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.messaging.services.inbound import AnswerTextInvalid, patient_text_clean

from ..errors import JourneyError
from ..models import Screening, ScreeningForm, ScreeningQuestion, Visit
from ..models.screening import choice_options

# What a patient may type in one answer; the page shows the limit.
SCREENING_ANSWER_MAX_LENGTH = 2000
YES, NO = "yes", "no"


def screening_field(question_id: int) -> str:
    """The name of a question's field on the page."""
    return f"q_{question_id}"


class ScreeningClosed(JourneyError):
    """The questionnaire can't be sent any more (the visit started, was cancelled, or the
    answers were sent before); the message says so to the patient."""


class ScreeningAlreadySent(ScreeningClosed):
    def __init__(self, screening: Screening) -> None:
        super().__init__(_("You have already sent your answers. Thank you!"))
        self.screening = screening


class ScreeningInvalid(JourneyError):
    """Answers that can't be taken: ``errors`` maps a question's id to what is wrong."""

    def __init__(self, errors: dict[int, str]) -> None:
        super().__init__(_("Please check the answers marked below."))
        self.errors = errors


def screening_closed_reason(visit: Visit) -> str | None:
    """Why the visit's questionnaire is closed, for the patient; None while it is open
    (the visit is booked and has not started)."""
    if visit.status in Visit.CANCELLED:
        return _("This visit was cancelled, so the questionnaire is closed.")
    if visit.status not in Visit.UPCOMING or visit.starts_at <= timezone.now():
        return _(
            "The visit has started, so the questionnaire is closed. Please tell the doctor "
            "in person."
        )
    return None


def _answer_clean(question: ScreeningQuestion, raw: str) -> str:
    """The answer to store for one question ("" when left out); ValueError with the
    patient-facing message otherwise."""
    raw = raw.strip()
    if question.kind == ScreeningQuestion.Kind.TEXT:
        try:
            # Cut one past the limit, so that a longer answer is told, not cut.
            text = patient_text_clean(raw, max_length=SCREENING_ANSWER_MAX_LENGTH + 1)
        except AnswerTextInvalid as error:
            raise ValueError(str(error)) from error
        if len(text) > SCREENING_ANSWER_MAX_LENGTH:
            raise ValueError(
                _("Please keep your answer within %(limit)s characters.")
                % {"limit": SCREENING_ANSWER_MAX_LENGTH}
            )
        if not text and question.required:
            raise ValueError(_("Please answer this question."))
        return text
    if question.kind == ScreeningQuestion.Kind.YES_NO:
        if raw not in (YES, NO, ""):
            raise ValueError(_("Choose “yes” or “no”."))
        if not raw and question.required:
            raise ValueError(_("Please choose “yes” or “no”."))
        return raw
    options = choice_options(question.choices)
    if not raw:
        if question.required:
            raise ValueError(_("Please choose one of the options."))
        return ""
    if not raw.isdigit() or not 0 <= int(raw) < len(options):
        raise ValueError(_("Choose one of the options."))
    return options[int(raw)][0]


def screening_answers_clean(*, form: ScreeningForm, posted: Mapping[str, str]) -> dict[str, str]:
    """The answers to store, by question id (as text, the JSON key); ScreeningInvalid
    naming every question whose answer can't be taken. Fields of no question are
    ignored."""
    answers: dict[str, str] = {}
    errors: dict[int, str] = {}
    for question in form.questions.all():
        try:
            value = _answer_clean(question, posted.get(screening_field(question.pk), ""))
        except ValueError as error:
            errors[question.pk] = str(error)
        else:
            if value:
                answers[str(question.pk)] = value
    if errors:
        raise ScreeningInvalid(errors)
    return answers


@transaction.atomic
def screening_submit(*, visit: Visit, form: ScreeningForm, posted: Mapping[str, str]) -> Screening:
    """Stores the patient's answers to ``form`` (with its questions as asked) for the
    visit, once, and audits it. Raises ScreeningAlreadySent once answers were sent (two
    sends at once: the second waits on the visit's lock, then finds the first),
    ScreeningClosed once the visit is cancelled or has started, ScreeningInvalid for
    answers that can't be taken."""
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    existing = Screening.objects.filter(visit_id=visit.pk).first()
    if existing is not None:
        raise ScreeningAlreadySent(existing)
    reason = screening_closed_reason(locked)
    if reason is not None:
        raise ScreeningClosed(reason)
    answers = screening_answers_clean(form=form, posted=posted)
    questions: list[dict[str, Any]] = [q.asked() for q in form.questions.all()]
    screening = Screening.objects.create(
        visit=locked, form=form, questions=questions, answers=answers
    )
    audit_record(
        action=AuditAction.CREATE,
        obj=screening,
        patient_id=locked.patient_id,
        details={"via": "screening_link", "visit_id": locked.pk, "answered": len(answers)},
    )
    return screening
