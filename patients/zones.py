"""The patient's local time (clinic_crm.zones holds the rule)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from clinic_crm.zones import zone_or_clinic


def patient_zone(patient: Any) -> ZoneInfo:
    """The patient's own zone, else the clinic's."""
    return zone_or_clinic(getattr(patient, "time_zone", "") or None)
