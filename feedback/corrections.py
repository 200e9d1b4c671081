"""Staff correcting the reasons the tagger found in a patient's comment.

The response's ``reasons`` become the staff's choice; the tagger's own answer stays in
``Response.tagged_reasons``, and every correction is kept as a row (what the reasons were
before, what staff chose, who, when), so the tagger's agreement with staff can be measured
(``feedback.selectors.reason_agreement``). The metrics count the new reasons on the next
recount of the response's day, as they do for any change of a response.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.signals import counted_change

from .models import ReasonCorrection, ReasonTag, Response
from .services import FeedbackError

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


@transaction.atomic
def response_reasons_correct(
    *, actor: User, response: Response, reason_keys: Iterable[str]
) -> ReasonCorrection:
    """Sets the response's reasons to the active tags ``reason_keys`` (none: the comment
    names no reason) and records the correction; choosing the reasons it already has
    records a confirmation. A key that is not an active tag raises ``FeedbackError`` and
    nothing is written."""
    keys = list(dict.fromkeys(key.strip() for key in reason_keys if key and key.strip()))
    tags = {tag.key: tag for tag in ReasonTag.objects.filter(is_active=True, key__in=keys)}
    unknown = [key for key in keys if key not in tags]
    if unknown:
        raise FeedbackError(
            {"reasons": _("“%(key)s” is not one of the active reasons.") % {"key": unknown[0]}}
        )
    # One correction at a time per response: "before" is what the previous one left.
    locked = Response.objects.select_for_update().get(pk=response.pk)
    before = sorted(locked.reasons.values_list("key", flat=True))
    after = sorted(keys)
    locked.reasons.set(tags.values())
    correction = ReasonCorrection.objects.create(
        response=locked, reasons_before=before, reasons_after=after, corrected_by=actor
    )
    # Changing only the reasons' join table does not touch the response's row, whose
    # update is what tells the metrics to recount its day (metrics' triggers).
    Response.objects.filter(pk=locked.pk).update(tagged_reasons=F("tagged_reasons"))
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        details={"reasons_before": before, "reasons_after": after},
    )
    counted_change.send(sender=Response, patient_id=locked.patient_id)
    return correction
