"""Signed, expiring links that patients open without an account: their treatment
calendar, a reminder's "confirm, cancel or ask to reschedule", and the follow-up's "how
do you feel?". The salts of the last two keep their old names, so links already sent go
on working."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from clinic_crm.messaging.links import (
    LinkExpired,
    LinkInvalid,
    patient_link_token,
    unsign_patient_link,
)
from clinic_crm.messaging.rendering import absolute_url

from .models import Visit

CALENDAR_SALT = "journeys.patient-calendar"
VISIT_SALT = "messaging.visit"
FEEL_SALT = "messaging.feel"

__all__ = [
    "LinkExpired",
    "LinkInvalid",
    "VisitLinkProblem",
    "calendar_patient_id",
    "calendar_path",
    "feel_link_target",
    "feel_link_url",
    "visit_link_target",
    "visit_link_url",
]


class VisitLinkProblem(Exception):
    """A visit link that can't be used, with the patient-facing reason."""


def calendar_token(*, patient_id: int) -> str:
    return patient_link_token({"p": patient_id}, salt=CALENDAR_SALT)


def calendar_path(*, patient_id: int) -> str:
    return reverse("journeys:patient_calendar", args=[calendar_token(patient_id=patient_id)])


def calendar_patient_id(token: str) -> int:
    return int(unsign_patient_link(token, salt=CALENDAR_SALT, keys="p")["p"])


def visit_link_url(*, visit: Visit) -> str:
    """The reminder's "confirm, cancel or ask to reschedule" link. It names the visit and
    the start it was sent for, so a link from before a move can't act on the new time."""
    token = patient_link_token(
        {"v": visit.pk, "s": int(visit.starts_at.timestamp())}, salt=VISIT_SALT
    )
    return absolute_url(reverse("journeys:visit_answer", args=[token]))


def visit_link_target(token: str) -> tuple[int, int]:
    """(visit id, start as a Unix time) of a genuine, unexpired link."""
    try:
        data = unsign_patient_link(token, salt=VISIT_SALT, keys="vs")
    except LinkExpired as exc:
        raise VisitLinkProblem(_("This link has expired. Please call the clinic.")) from exc
    except LinkInvalid as exc:
        raise VisitLinkProblem(
            _("This link is not valid. If you copied it, check that it is complete.")
        ) from exc
    return int(data["v"]), int(data["s"])


def feel_link_url(*, visit: Visit) -> str:
    """The "how do you feel?" answer link of a visit."""
    token = patient_link_token({"v": visit.pk}, salt=FEEL_SALT)
    return absolute_url(reverse("journeys:feel_answer", args=[token]))


def feel_link_target(token: str) -> int | None:
    try:
        return int(unsign_patient_link(token, salt=FEEL_SALT, keys="v")["v"])
    except (LinkExpired, LinkInvalid):
        return None
