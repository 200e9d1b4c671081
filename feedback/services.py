"""Recording what a patient answered, and the recovery loop it may start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import SupportsInt, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.signals import counted_change
from journeys.models import JourneyEvent, Stage, Task, Visit
from journeys.services.events import journey_event_record
from journeys.services.worklist import task_open_once

from .models import (
    CSI_SCALE_MAX,
    NEGATIVE_ATTRIBUTE_MAX,
    NPS_MAX,
    AttributeAnswer,
    CsiAttribute,
    Response,
    StageKind,
    Survey,
)
from .reason_tags import comment_reason_tags
from .scales import nps_class
from .texts import RECOVERY_CALL, attribute_names

RECOVERY_SLA = timedelta(hours=24)


class FeedbackError(ValidationError):
    """Answers that can't be recorded; the message (per field where there is one) is
    shown to the patient."""


COMMENT_MAX = 2000


@dataclass(frozen=True)
class Grouping:
    """What a response is grouped by, copied from its visit when recorded."""

    day: date
    branch_id: int
    doctor_id: int | None
    specialty_id: int | None
    service_id: int | None
    service_category: str
    stage_id: int | None
    stage_kind: str


def visit_grouping(visit: Visit) -> Grouping:
    """The clinic day of the visit (the date at its branch) and its branch, doctor,
    specialty, service and category, stage and stage kind."""
    stage = visit.stage
    if stage is None:
        kind = StageKind.NONE
    else:
        kind = StageKind.SIGNIFICANT if stage.significant else StageKind.STAGE
    return Grouping(
        day=visit.starts_at.astimezone(visit.branch.zone).date(),
        branch_id=visit.branch_id,
        doctor_id=visit.doctor_id,
        specialty_id=visit.service.specialty_id,
        service_id=visit.service_id,
        service_category=visit.service.category,
        stage_id=visit.stage_id,
        stage_kind=kind,
    )


def _clean_nps(survey: Survey, value: object) -> int | None:
    if value in (None, ""):
        return None
    if not survey.asks_nps:
        raise FeedbackError({"nps_score": _("This survey does not ask that question.")})
    try:
        # Any input (a form's text, JSON's numbers): what int() can't take raises here.
        score = int(cast("str | SupportsInt", value))
    except (TypeError, ValueError):
        score = None
    if (
        score is None
        or isinstance(value, bool)
        or str(score) != str(value).strip()
        or not (0 <= score <= NPS_MAX)
    ):
        raise FeedbackError(
            {"nps_score": _("Choose a whole number from 0 to %(max)s.") % {"max": NPS_MAX}}
        )
    return score


def _clean_answers(
    attributes: Mapping[str, CsiAttribute], answers: Mapping[str, object]
) -> dict[CsiAttribute, int]:
    """Attribute key → score 1–5, only for the aspects asked (``attributes`` by key)."""
    cleaned: dict[CsiAttribute, int] = {}
    for key, value in answers.items():
        if value in (None, ""):
            continue
        attribute = attributes.get(key)
        if attribute is None:
            raise FeedbackError(
                {"answers": _("“%(key)s” is not a question of this survey.") % {"key": key}}
            )
        try:
            # Any input (a form's text, JSON's numbers): what int() can't take raises here.
            score = int(cast("str | SupportsInt", value))
        except (TypeError, ValueError):
            score = 0
        if isinstance(value, bool) or not 1 <= score <= CSI_SCALE_MAX:
            raise FeedbackError(
                {
                    "answers": _("Rate “%(name)s” from 1 to %(max)s.")
                    % {"name": attribute.name, "max": CSI_SCALE_MAX}
                }
            )
        cleaned[attribute] = score
    return cleaned


@transaction.atomic
def survey_response_record(
    *,
    survey: Survey,
    visit: Visit,
    channel: str,
    nps_score: object = None,
    answers: Mapping[str, object] | None = None,
    comment: str = "",
    submitted_at: datetime | None = None,
) -> Response:
    """Records a patient's answers about a visit, once per visit and survey.

    Grouping fields are copied from the visit. A detractor (0–6) or an aspect rated 1–2
    makes the response negative: it opens one recovery task, due within 24 hours, for the
    plan's curator (the front desk when the visit had no plan), and the journey shows
    the answer. Bad input raises ``FeedbackError`` naming the field; nothing is written.
    """
    if visit.status != Visit.Status.COMPLETED:
        raise FeedbackError(_("Feedback can be given only about a visit that took place."))
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise FeedbackError(
            {"comment": _("Please keep it under %(max)s characters.") % {"max": COMMENT_MAX}}
        )
    score = _clean_nps(survey, nps_score)
    scores = _clean_answers({a.key: a for a in survey.attributes.all()}, answers or {})
    if score is None and not scores:
        raise FeedbackError(_("Answer at least one question."))
    if comment and not survey.asks_comment:
        comment = ""
    grouping = visit_grouping(visit)
    negative = (score is not None and nps_class(score) == "detractor") or any(
        s <= NEGATIVE_ATTRIBUTE_MAX for s in scores.values()
    )
    tags = comment_reason_tags(comment)
    response = Response(
        survey=survey,
        patient_id=visit.patient_id,
        visit=visit,
        channel=channel,
        submitted_at=submitted_at or timezone.now(),
        nps_score=score,
        comment=comment,
        negative=negative,
        tagged_reasons=[tag.key for tag in tags],
        **grouping.__dict__,
    )
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        if Response.objects.filter(visit=visit, survey=survey).exists():
            raise FeedbackError(_("This survey has already been answered. Thank you!")) from None
        raise
    AttributeAnswer.objects.bulk_create(
        AttributeAnswer(response=response, attribute=attribute, score=value)
        for attribute, value in scores.items()
    )
    if tags:
        response.reasons.set(tags)
    _journey_note(response, visit, scores)
    if negative:
        response.recovery_task = _recovery_task_open(response, visit)
        response.save(update_fields=["recovery_task"])
    counted_change.send(sender=Response, patient_id=response.patient_id)
    return response


def _journey_note(response: Response, visit: Visit, scores: dict[CsiAttribute, int]) -> None:
    parts = []
    if response.nps_score is not None:
        parts.append(_("would recommend: %(score)s of 10") % {"score": response.nps_score})
    parts += [f"{attribute.name}: {value}/{CSI_SCALE_MAX}" for attribute, value in scores.items()]
    journey_event_record(
        patient_id=visit.patient_id,
        kind=JourneyEvent.Kind.FEEDBACK,
        # A visit with a stage_id has its stage.
        plan=cast(Stage, visit.stage).option.plan if visit.stage_id else None,
        visit=visit,
        summary=(_("Negative feedback") if response.negative else _("Feedback"))
        + ": "
        + "; ".join(parts),
        data={
            "response": response.pk,
            "nps": response.nps_score,
            "answers": {attribute.key: value for attribute, value in scores.items()},
            "attribute_names": {attribute.key: attribute_names(attribute) for attribute in scores},
            "negative": response.negative,
            "comment": response.comment,
        },
    )


def _recovery_task_open(response: Response, visit: Visit) -> Task:
    return task_open_once(
        visit=visit,
        kind=Task.Kind.NEGATIVE_FEEDBACK,
        cause="negative_feedback:visit",
        title_key=RECOVERY_CALL,
        title_params={"when": visit.starts_at.isoformat()},
        details=response.comment,
        risk=95,
        due_in=RECOVERY_SLA,
        now=response.submitted_at,
    )
