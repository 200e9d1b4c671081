"""Validation of patient contact data: phone numbers in E.164 and IANA time zones.

Forms, the model and the services all use these, so a message is written once.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PHONE_DEFAULT_REGION = "RU"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
_E164 = re.compile(E164_PATTERN)


def normalize_phone(raw: str) -> str:
    """Returns the number in E.164 (``+79991234567``), or "" for an empty input.

    Accepts what people type: ``8 (999) 123-45-67``, ``+7 999 1234567``, ``9991234567``
    (a number without a country code is taken as Russian).
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    error = ValidationError(
        _("“%(value)s” is not a phone number. Enter it with the area code, e.g. +7 912 345-67-89."),
        code="invalid_phone",
        params={"value": raw},
    )
    if len(raw) > 32:
        raise error
    try:
        number = phonenumbers.parse(raw, PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise error from exc
    if not phonenumbers.is_valid_number(number):
        raise error
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone_e164(value: str) -> None:
    """Model-level check: a stored phone is already normalized."""
    if value and not _E164.match(value):
        raise ValidationError(
            _("The phone number must be stored in E.164, like +79991234567."),
            code="not_e164",
        )


def format_phone(value: str) -> str:
    """E.164 to the international format people read: ``+7 999 123-45-67``."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@lru_cache(maxsize=1)
def _time_zone_names() -> frozenset[str]:
    # available_timezones() walks the tz database on every call.
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if not value or value not in _time_zone_names():
        raise ValidationError(
            _("“%(value)s” is not a time zone. Use a name like Europe/Moscow."),
            code="invalid_time_zone",
            params={"value": value},
        )


# Russian time zones offered in forms; any IANA name is accepted.
COMMON_TIME_ZONES = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
]
