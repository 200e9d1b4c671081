"""A patient answering an invitation, one question at a time: each answer is saved as it
is given, so a patient who stops after the first question still counts.

The first answer creates the response (grouping copied from the visit, as
``survey_response_record`` does); later ones add to it. An answer given twice (a double
tap, a resubmitted form, the email's one-tap score and then the page) keeps the first.
Whenever the response turns negative the recovery task opens, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinic_crm.signals import counted_change
from journeys.models import Task, Visit

from .models import (
    NEGATIVE_ATTRIBUTE_MAX,
    AttributeAnswer,
    CsiAttribute,
    Response,
    ResponseChannel,
    Survey,
    SurveyInvitation,
)
from .reason_tags import comment_reason_tags
from .recovery import recovery_task_details
from .scales import nps_class
from .services import (
    COMMENT_MAX,
    FeedbackError,
    _clean_answers,
    _clean_nps,
    _journey_note,
    _recovery_task_open,
    visit_grouping,
)


class InvitationClosed(FeedbackError):
    """The link can't take answers any more: finished or expired."""


@dataclass
class AnswerOutcome:
    invitation: SurveyInvitation
    response: Response
    finished: bool


def invitation_attributes(invitation: SurveyInvitation) -> list[CsiAttribute]:
    """The aspects the invitation asks, in its order."""
    by_key = {a.key: a for a in CsiAttribute.objects.filter(key__in=invitation.attribute_keys)}
    return [by_key[k] for k in invitation.attribute_keys if k in by_key]


def invitation_channel(invitation: SurveyInvitation) -> str:
    """The channel the answer came by: the one its message went out on, else the web."""
    message = invitation.message
    if message is not None and message.sent_at is not None:
        return message.channel
    return ResponseChannel.WEB


@transaction.atomic
def survey_answer_record(
    *,
    invitation: SurveyInvitation,
    channel: str | None = None,
    nps_score: object = None,
    answers: Mapping[str, object] | None = None,
    comment: str | None = None,
    finish: bool = False,
    require: tuple[str, ...] = (),
    now: datetime | None = None,
) -> AnswerOutcome:
    """Saves what the patient answered now. ``require`` names the answers this step must
    have (``"nps"``, or ``"answers"``: every aspect asked); a missing or out-of-range one
    raises ``FeedbackError`` per field and nothing is written. ``finish`` closes the link
    (the patient pressed "send"); a closed or expired link raises ``InvitationClosed``."""
    now = now or timezone.now()
    invitation = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("survey", "message", "response")
        .get(pk=invitation.pk)
    )
    if invitation.finished_at is not None:
        raise InvitationClosed(_("This survey has already been answered. Thank you!"))
    if invitation.expires_at <= now:
        raise InvitationClosed(_("This link has expired. Thank you for your time."))
    survey = invitation.survey
    if survey.kind == Survey.Kind.RECOVERY:
        return _resurvey_answer(invitation, nps_score, now)
    attributes = {a.key: a for a in invitation_attributes(invitation)}
    errors: dict[str, str] = {}
    score = None
    try:
        score = _clean_nps(survey, nps_score)
    except FeedbackError as error:
        errors.update({k: v[0] for k, v in error.message_dict.items()})
    if "nps" in require and score is None and "nps_score" not in errors:
        errors["nps_score"] = _("Choose a score from 0 to 10.")
    scores: dict[CsiAttribute, int] = {}
    given = answers or {}
    for key, attribute in attributes.items():
        try:
            scores.update(_clean_answers({key: attribute}, {key: given.get(key)}))
        except FeedbackError:
            errors[f"attribute_{key}"] = _("Rate this from 1 to 5.")
        else:
            if "answers" in require and attribute not in scores:
                errors[f"attribute_{key}"] = _("Please choose an answer.")
    unknown = set(given) - set(attributes)
    if unknown:
        errors["answers"] = _("“%(key)s” is not a question of this survey.") % {
            "key": sorted(unknown)[0]
        }
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        errors["comment"] = _("Please keep it under %(max)s characters.") % {"max": COMMENT_MAX}
    if errors:
        raise FeedbackError(errors)

    response = invitation.response
    visit = Visit.objects.select_related("branch", "service", "stage__option__plan").get(
        pk=invitation.visit_id
    )
    created = response is None
    if response is None:
        if score is None and not scores:
            raise FeedbackError({"nps_score": _("Choose a score from 0 to 10.")})
        response = Response.objects.create(
            survey=survey,
            patient_id=invitation.patient_id,
            visit=visit,
            channel=channel or invitation_channel(invitation),
            submitted_at=now,
            nps_score=score,
            **visit_grouping(visit).__dict__,
        )
        invitation.response = response
        invitation.answered_at = now
    elif score is not None and response.nps_score is None:
        response.nps_score = score
    AttributeAnswer.objects.bulk_create(
        [AttributeAnswer(response=response, attribute=a, score=v) for a, v in scores.items()],
        ignore_conflicts=True,  # answered before (a resubmitted form): the first stands
    )
    if text and not response.comment and survey.asks_comment:
        response.comment = text
        tags = comment_reason_tags(text)
        response.tagged_reasons = [tag.key for tag in tags]
        if tags:
            response.reasons.add(*tags)
    # Just created, its aspects are the ones given now; otherwise read what it has.
    all_scores = (
        dict(scores)
        if created
        else {a.attribute: a.score for a in response.answers.select_related("attribute")}
    )
    was_negative = response.negative
    response.negative = (
        response.nps_score is not None and nps_class(response.nps_score) == "detractor"
    ) or any(s <= NEGATIVE_ATTRIBUTE_MAX for s in all_scores.values())
    if response.negative and response.recovery_task_id is None:
        response.recovery_task = _recovery_task_open(response, visit)
    if response.recovery_task_id is not None:
        # The curator's worklist shows what the patient said, as it comes in.
        # Task's manager is an AuditedQuerySet, neither generic nor annotated; its
        # update() keeps QuerySet.update's contract.
        open_task: QuerySet[Task] = Task.objects.filter(
            pk=response.recovery_task_id, state__in=Task.OPEN_STATES
        )
        open_task.update(
            details=recovery_task_details(
                response, {a.label(translation.get_language()): v for a, v in all_scores.items()}
            )
        )
    # Saved every time it existed before, also when only aspects were added: the update
    # is what tells the metrics triggers to recount the doctor's day (a new row's insert
    # told them already, so it is saved again only when this step changed it).
    if not created or response.negative or response.comment:
        response.save(
            update_fields=["nps_score", "comment", "tagged_reasons", "negative", "recovery_task"]
        )
    if finish:
        invitation.finished_at = now
    invitation.save(update_fields=["response", "answered_at", "finished_at"])
    if created or finish or (response.negative and not was_negative):
        _journey_note(response, visit, all_scores)
    counted_change.send(sender=Response, patient_id=response.patient_id)
    return AnswerOutcome(invitation=invitation, response=response, finished=finish)


def _resurvey_answer(
    invitation: SurveyInvitation, nps_score: object, now: datetime
) -> AnswerOutcome:
    """The one question after a recovery call: kept on the negative response it checks
    (its first answer stands), and the link is closed at once."""
    score = _clean_nps(invitation.survey, nps_score)
    if score is None:
        raise FeedbackError({"nps_score": _("Choose a score from 0 to 10.")})
    response = Response.objects.select_for_update().get(pk=cast(int, invitation.recovers_id))
    if response.resurvey_score is None:
        response.resurvey_score = score
        response.resurvey_at = now
        response.save(update_fields=["resurvey_score", "resurvey_at"])
    invitation.answered_at = invitation.answered_at or now
    invitation.finished_at = now
    invitation.save(update_fields=["answered_at", "finished_at"])
    counted_change.send(sender=Response, patient_id=response.patient_id)
    return AnswerOutcome(invitation=invitation, response=response, finished=True)
