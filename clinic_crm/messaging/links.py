"""Signed links in messages. The opt-out link does not expire (an old message's link must
still work); the reminder's visit link and the follow-up's answer link expire like the
patient's calendar link. None carries personal data in clear."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from journeys.patient_links import LinkExpired, LinkInvalid, unsign_patient_link

from .rendering import absolute_url

OPTOUT_SALT = "messaging.optout"
VISIT_SALT = "messaging.visit"
FEEL_SALT = "messaging.feel"


class VisitLinkProblem(Exception):
    """A visit link that can't be used, with the patient-facing reason."""


def optout_url(*, patient_id: int, kind: str) -> str:
    token = signing.Signer(salt=OPTOUT_SALT).sign_object({"p": patient_id, "k": kind})
    return absolute_url(reverse("messaging:optout", args=[token]))


def optout_target(token: str) -> tuple[int, str] | None:
    """(patient id, kind) of a genuine link, else None."""
    from .models import MessageKind

    try:
        data = signing.Signer(salt=OPTOUT_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("p"), int)
        or data.get("k") not in MessageKind.values
    ):
        return None
    return data["p"], data["k"]


def visit_link_url(*, visit) -> str:
    """The reminder's "confirm, cancel or ask to reschedule" link. It names the visit and
    the start it was sent for, so a link from before a move can't act on the new time."""
    token = signing.TimestampSigner(salt=VISIT_SALT).sign_object(
        {"v": visit.pk, "s": int(visit.starts_at.timestamp())}
    )
    return absolute_url(reverse("messaging:visit_answer", args=[token]))


def visit_link_target(token: str) -> tuple[int, int]:
    """(visit id, start as a Unix time) of a genuine, unexpired link."""
    from django.utils.translation import gettext as _

    try:
        data = unsign_patient_link(token, salt=VISIT_SALT, keys="vs")
    except LinkExpired as exc:
        raise VisitLinkProblem(_("This link has expired. Please call the clinic.")) from exc
    except LinkInvalid as exc:
        raise VisitLinkProblem(
            _("This link is not valid. If you copied it, check that it is complete.")
        ) from exc
    return data["v"], data["s"]


def feel_link_url(*, visit) -> str:
    """The "how do you feel?" answer link of a visit."""
    token = signing.TimestampSigner(salt=FEEL_SALT).sign_object({"v": visit.pk})
    return absolute_url(reverse("messaging:feel_answer", args=[token]))


def feel_link_target(token: str) -> int | None:
    try:
        return unsign_patient_link(token, salt=FEEL_SALT, keys="v")["v"]
    except (LinkExpired, LinkInvalid):
        return None
