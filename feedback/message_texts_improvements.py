"""The words of “you said, we did”, registered with messaging: what changed and the link
to the public page, in the built-in wording per language (SMS short). Like every
non-urgent message, it carries the one-click opt-out link."""

from __future__ import annotations

from typing import Any

from clinic_crm.messaging.models import MessageKind
from clinic_crm.messaging.rendering import Wording, message_texts_register

VARIABLES: dict[str, tuple[str, ...] | None] = {"improvement_title": None, "improvement_url": None}
EXAMPLES: dict[str, Any] = {
    "improvement_title": "Электронная очередь: приём начинается вовремя",
    "improvement_url": "https://clinic.example/we-did/?lang=ru#improvement-7",
}

W: str = MessageKind.WE_DID
WORDINGS = {
    (W, "ru", ""): Wording(
        "Вы сказали — мы сделали",
        "{{ patient.greeting_name }}, спасибо, что рассказали нам, что было не так. "
        "Мы изменили: {{ improvement_title }}\nПодробнее: {{ improvement_url }}\n"
        "{{ clinic_name }}"
        "{% if optout_url %}\nНе присылать такие новости: {{ optout_url }}{% endif %}",
    ),
    (W, "en", ""): Wording(
        "You said, we did",
        "{{ patient.greeting_name }}, thank you for telling us what went wrong. "
        "We have changed this: {{ improvement_title }}\nMore: {{ improvement_url }}\n"
        "{{ clinic_name }}"
        "{% if optout_url %}\nNo more news like this: {{ optout_url }}{% endif %}",
    ),
    (W, "ru", "sms"): Wording(
        "",
        "{{ patient.greeting_name }}, по вашему отзыву мы изменили: {{ improvement_title }} "
        "{{ improvement_url }}{% if optout_url %} Отписаться: {{ optout_url }}{% endif %}",
    ),
    (W, "en", "sms"): Wording(
        "",
        "{{ patient.greeting_name }}, after your feedback we changed: {{ improvement_title }} "
        "{{ improvement_url }}{% if optout_url %} Unsubscribe: {{ optout_url }}{% endif %}",
    ),
}


def register() -> None:
    message_texts_register(variables=VARIABLES, examples=EXAMPLES, wordings=WORDINGS)
