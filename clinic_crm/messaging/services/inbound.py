"""What comes back from patients and providers: delivery reports, a patient's "no more of
these", and the text a patient types on an answer page."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.forms import has_control_characters

from ..backends.base import DeliveryReport
from ..models import (
    Message,
    MessageOptOut,
    SuppressReason,
)

_LINE_BREAK = re.compile(r"\r\n?")


class AnswerTextInvalid(Exception):
    """The patient's note or comment can't be taken; the message says so in the
    patient's language (the caller has switched to it)."""


def patient_text_clean(text: str, *, max_length: int) -> str:
    """A note typed on a patient page: line breaks made plain, cut to ``max_length``.
    Control characters other than newline and tab (NUL, which PostgreSQL refuses, among
    them) are refused with AnswerTextInvalid."""
    text = _LINE_BREAK.sub("\n", text or "").strip()
    if has_control_characters(text, allowed="\n\t"):
        raise AnswerTextInvalid(
            _("Your text contains characters that can't be saved. Please type it again.")
        )
    return text[:max_length]


def delivery_reports_record(*, channel: str, reports: Iterable[DeliveryReport]) -> int:
    """Stores what a provider says about delivery. A report names our message id where
    the provider echoes it, else the provider's id; only sent messages of that channel are
    touched, so a forged or stale report can't reopen anything."""
    updated = 0
    for report in reports:
        rows = Message.objects.filter(channel=channel, status=Message.Status.SENT)
        if report.message_id is not None:
            rows = rows.filter(pk=report.message_id)
        else:
            rows = rows.filter(provider_id=report.provider_id)
        fields: dict[str, str] = {
            "delivery": Message.Delivery.DELIVERED
            if report.delivered
            else Message.Delivery.UNDELIVERED
        }
        if not report.delivered and report.reason:
            fields["last_error"] = f"{channel}: {report.reason}"
        updated += rows.update(**fields)
    return updated


@transaction.atomic
def message_optout(*, patient_id: int, kind: str) -> bool:
    """Records a patient's "no more of these" and suppresses what of that kind is still
    waiting. True the first time."""
    created = MessageOptOut.objects.get_or_create(patient_id=patient_id, kind=kind)[1]
    Message.objects.filter(patient_id=patient_id, kind=kind, status=Message.Status.PENDING).update(
        status=Message.Status.SUPPRESSED,
        suppressed_reason=SuppressReason.OPTED_OUT,
        closed_at=timezone.now(),
    )
    return created
