"""A patient's answers from the links in their messages (no account): the reminder's
"confirm, cancel or ask to reschedule" and the follow-up's "how do you feel?". Each link
takes one answer (a LinkAnswer row, claimed in the transaction of the change)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.messaging.services.inbound import patient_text_clean

from ..errors import JourneyError
from ..models import JourneyEvent, LinkAnswer, Stage, Task, Visit
from .events import journey_event_record
from .visit_status import visit_cancel, visit_confirm, visit_reschedule_request
from .worklist import task_open_once

# What a patient may type on an answer page (the reschedule note, the "what worries you"
# comment); longer text is cut. The pages show the limits.
VISIT_NOTE_MAX_LENGTH = 500
FEEL_COMMENT_MAX_LENGTH = 1000
VISIT_ANSWERS = (
    LinkAnswer.Answer.CONFIRM,
    LinkAnswer.Answer.CANCEL,
    LinkAnswer.Answer.RESCHEDULE,
)


@dataclass(frozen=True)
class LinkAnswered:
    """What a patient's answer link now holds: the answer that stands, and whether this
    request recorded it (False: the link had been answered before; nothing was done)."""

    answer: LinkAnswer
    recorded: bool


def _link_answer_claim(*, link: str, visit: Visit, answer: str) -> LinkAnswered:
    """Notes the answer of a link in the caller's transaction, once. A second request
    waits on the unique constraint until the first commits, then finds its answer."""
    row, created = LinkAnswer.objects.get_or_create(
        link=link, visit=visit, visit_starts_at=visit.starts_at, defaults={"answer": answer}
    )
    return LinkAnswered(answer=row, recorded=created)


@transaction.atomic
def visit_answer_record(*, visit: Visit, action: str, note: str = "") -> LinkAnswered:
    """The patient's answer from the reminder's link: "confirm", "cancel" (the slot goes
    to the waitlist) or "reschedule" (cancelled, and a booking request for the curator).
    The link takes one answer: a repeat changes nothing and returns the first. Raises
    AnswerTextInvalid for a note that can't be stored and JourneyError once the visit is
    no longer upcoming or has started."""
    if action not in VISIT_ANSWERS:
        raise JourneyError(_("Choose one of the buttons."))
    note = patient_text_clean(note, max_length=VISIT_NOTE_MAX_LENGTH)
    outcome = _link_answer_claim(link=LinkAnswer.Link.VISIT, visit=visit, answer=action)
    if not outcome.recorded:
        return outcome
    if visit.status not in Visit.UPCOMING or visit.starts_at <= timezone.now():
        raise JourneyError(_("This visit can't be changed any more. Please call the clinic."))
    if action == LinkAnswer.Answer.CONFIRM:
        if visit.status != Visit.Status.CONFIRMED:
            visit_confirm(actor=None, visit=visit)
    elif action == LinkAnswer.Answer.CANCEL:
        visit_cancel(
            actor=None,
            visit=visit,
            by_patient=True,
            reason=_("Cancelled by the patient from the reminder"),
        )
    else:
        visit_reschedule_request(visit=visit, note=note)
    return outcome


@transaction.atomic
def feel_answer_record(*, visit: Visit, well: bool, comment: str = "") -> LinkAnswered:
    """The patient's answer to "how do you feel?": on the journey as a fact, and "not
    well" opens one task for the plan's curator (or the front desk), due within hours.
    The link takes one answer: a repeat records nothing and returns the first. Raises
    AnswerTextInvalid for a comment that can't be stored."""
    comment = patient_text_clean(comment, max_length=FEEL_COMMENT_MAX_LENGTH)
    outcome = _link_answer_claim(
        link=LinkAnswer.Link.FEEL,
        visit=visit,
        answer=LinkAnswer.Answer.WELL if well else LinkAnswer.Answer.UNWELL,
    )
    if not outcome.recorded:
        return outcome
    # stage_id is set, so the visit has its stage (a foreign key to an existing row).
    plan = cast(Stage, visit.stage).option.plan if visit.stage_id else None
    journey_event_record(
        patient_id=visit.patient_id,
        kind=JourneyEvent.Kind.FEEDBACK,
        actor=None,
        plan=plan,
        visit=visit,
        summary=_("Feels well after the visit") if well else _("Feels unwell after the visit"),
        data={"follow_up": "well" if well else "unwell", "comment": comment},
    )
    if not well:
        task_open_once(
            visit=visit,
            kind=Task.Kind.FEELS_UNWELL,
            cause="unwell:visit",
            title_key=Task.Kind.FEELS_UNWELL,  # journeys writes it in the reader's language
            title_params={"when": visit.starts_at.isoformat()},
            details=comment,
            risk=90,
        )
    return outcome
