"""Signed, expiring links that patients open without an account."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

CALENDAR_SALT = "journeys.patient-calendar"


class LinkInvalid(Exception):
    pass


class LinkExpired(Exception):
    pass


def calendar_token(*, patient_id: int) -> str:
    return signing.TimestampSigner(salt=CALENDAR_SALT).sign_object({"p": patient_id})


def calendar_path(*, patient_id: int) -> str:
    return reverse("journeys:patient_calendar", args=[calendar_token(patient_id=patient_id)])


def unsign_patient_link(token: str, *, salt: str, keys: str) -> dict:
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
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in keys):
        raise LinkInvalid
    return data


def calendar_patient_id(token: str) -> int:
    return unsign_patient_link(token, salt=CALENDAR_SALT, keys="p")["p"]
