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


def calendar_patient_id(token: str) -> int:
    max_age = settings.PATIENT_LINK_MAX_AGE_DAYS * 86400
    try:
        data = signing.TimestampSigner(salt=CALENDAR_SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        raise LinkInvalid
    return data["p"]
