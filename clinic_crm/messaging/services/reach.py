"""Who can be reached, and how: the channels to try for a patient, best first."""

from __future__ import annotations

from patients.models import Patient

from ..backends import channel_enabled
from ..models import (
    MessageChannel,
)

# The order channels are tried in after the patient's preferred one.
CHANNEL_ORDER = (MessageChannel.SMS, MessageChannel.TELEGRAM, MessageChannel.EMAIL)
_CHANNELS = frozenset(MessageChannel.values)


def channel_address(patient: Patient, channel: str) -> str:
    addresses: dict[str, str] = {
        MessageChannel.SMS: patient.phone,
        MessageChannel.EMAIL: patient.email,
        MessageChannel.TELEGRAM: patient.telegram_chat_id,
    }
    return addresses.get(channel, "")


def channels_for(patient: Patient, first: str | None = None) -> list[str]:
    """The channels to try, best first: ``first``, the patient's preferred one, then the
    clinic's order; only those the clinic sends on and the patient can be reached on."""
    order = [first, patient.preferred_channel, *CHANNEL_ORDER]
    seen: list[str] = []
    for channel in order:
        if channel in _CHANNELS and channel not in seen:
            seen.append(channel)
    return [c for c in seen if channel_address(patient, c) and channel_enabled(c)]


def patient_inactive(patient: Patient) -> bool:
    return patient.is_archived or patient.is_deceased or patient.merged_into_id is not None
