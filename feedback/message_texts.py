"""The survey invitation's words, registered with messaging: its link and whether it is
the reminder, and the built-in wording per language and channel (SMS short: the link is
the message)."""

from __future__ import annotations

from typing import Any

from clinic_crm.messaging.models import MessageKind
from clinic_crm.messaging.rendering import Wording, message_texts_register

VARIABLES: dict[str, tuple[str, ...] | None] = {"survey_url": None, "survey_reminder": None}
EXAMPLES: dict[str, Any] = {
    "survey_url": "https://clinic.example/s/Ab3dE5gH7jK9",
    "survey_reminder": "",
}

S: str = MessageKind.SURVEY
WORDINGS = {
    (S, "ru", ""): Wording(
        "Как прошёл визит?",
        "{{ patient.greeting_name }}, {% if survey_reminder %}напоминаем: {% endif %}"
        "оцените, пожалуйста, визит — это займёт минуту: {{ survey_url }}\n{{ clinic_name }}"
        "{% if optout_url %}\nНе спрашивать меня: {{ optout_url }}{% endif %}",
    ),
    (S, "en", ""): Wording(
        "How was your visit?",
        "{{ patient.greeting_name }}, {% if survey_reminder %}a reminder: {% endif %}"
        "please rate your visit; it takes a minute: {{ survey_url }}\n{{ clinic_name }}"
        "{% if optout_url %}\nDon't ask me: {{ optout_url }}{% endif %}",
    ),
    (S, "ru", "sms"): Wording(
        "",
        "{{ patient.greeting_name }}, {% if survey_reminder %}напоминаем: {% endif %}"
        "как прошёл визит? Ответ в 1 касание: {{ survey_url }}",
    ),
    (S, "en", "sms"): Wording(
        "",
        "{{ patient.greeting_name }}, {% if survey_reminder %}a reminder: {% endif %}"
        "how was your visit? One tap: {{ survey_url }}",
    ),
}


def register() -> None:
    message_texts_register(variables=VARIABLES, examples=EXAMPLES, wordings=WORDINGS)
