"""The one rule for a time zone name stored on a record (a branch, a patient): the zone it
names, or the clinic's own (settings.TIME_ZONE) when it names none or one this system
does not know. Every local time the product shows or plans goes through it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings


def zone_or_clinic(name: str | None) -> ZoneInfo:
    """The zone ``name`` names, else the clinic's (settings.TIME_ZONE). ZoneInfo keeps
    the zones it has read, so this costs a dictionary look-up."""
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo(settings.TIME_ZONE)
