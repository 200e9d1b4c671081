"""How the audit log names the outbox's messages (registered from MessagingConfig.ready):
"Иванов И. И. — message: Reminder, SMS, 12.03.2026 10:00"."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.audit.describers import int_ids, register_describer
from patients.audit import NAME_PARTS, short_name

from .models import Message


def describe_messages(ids: list[str]) -> dict[str, str]:
    messages = Message.objects.filter(pk__in=int_ids(ids)).select_related("patient")
    return {
        str(message.pk): _("%(patient)s — message: %(kind)s, %(channel)s, %(when)s")
        % {
            "patient": short_name(*(getattr(message.patient, part) for part in NAME_PARTS)),
            "kind": message.get_kind_display(),
            "channel": message.get_channel_display(),
            "when": timezone.localtime(message.scheduled_for).strftime("%d.%m.%Y %H:%M"),
        }
        for message in messages
    }


def register() -> None:
    register_describer(Message._meta.label, describe_messages)
