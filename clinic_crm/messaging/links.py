"""Signed links in messages: the signing every patient link shares, and the opt-out link.
The opt-out link does not expire (an old message's link must still work); the links of
the layers above (the patient's calendar, a reminder's answer, "how do you feel?") expire
after PATIENT_LINK_MAX_AGE_DAYS. None carries personal data in clear."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .rendering import absolute_url

OPTOUT_SALT = "messaging.optout"


class LinkInvalid(Exception):
    """A forged, mangled or incomplete link."""


class LinkExpired(Exception):
    """A genuine link older than PATIENT_LINK_MAX_AGE_DAYS."""


def patient_link_token(data: dict[str, int], *, salt: str) -> str:
    """The token of an expiring patient link holding ``data`` (whole numbers only)."""
    return signing.TimestampSigner(salt=salt).sign_object(data)


def unsign_patient_link(token: str, *, salt: str, keys: str) -> dict[str, Any]:
    """The data of a patient's signed link (calendar, reminder, follow-up): raises
    LinkExpired after PATIENT_LINK_MAX_AGE_DAYS, LinkInvalid for a forged or mangled one
    or one whose ``keys`` are not all integers."""
    max_age = settings.PATIENT_LINK_MAX_AGE_DAYS * 86400
    try:
        data = signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), int) and not isinstance(data.get(k), bool) for k in keys
    ):
        raise LinkInvalid
    return data


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
