"""Turning a template and the facts a message is about into its text.

Templates are Django templates that managers may edit, so they are compiled and rendered
in a sandbox (``sandbox.py``: the documented variables, the ``if`` tag and a few text
filters, nothing else) and only ever see plain data (dicts of strings built here), never
model instances: a template can't walk from a patient to other records. A template that
uses anything else is refused when it is saved and in the live preview, with the
variable, tag or filter named.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, TemplateSyntaxError
from django.utils import translation
from django.utils.translation import gettext as _

from patients.models import Patient

from .caching import shortly_cached
from .models import MessageKind, MessageTemplate
from .sandbox import SandboxEngine, SandboxTemplate, TemplateRefused, allowed_lookups

logger = logging.getLogger("clinic_crm.messaging")

# What a template may use. Each name maps to the attributes it offers; ``None`` means a
# plain string. Kept in one place: the editor lists it, the check enforces it. Messaging
# offers the patient and its own links; the layers that plan messages add theirs
# (``message_texts_register``).
TEMPLATE_VARIABLES: dict[str, tuple[str, ...] | None] = {
    "patient": ("first_name", "middle_name", "last_name", "full_name", "greeting_name"),
    "optout_url": None,
    "clinic_name": None,
    "holiday": None,
}

_MARK = "\x00{}\x00"
_MISSING = re.compile("\x00(.*?)\x00")

# The engine for message templates: the sandbox, no autoescape (the text is plain, not
# HTML), and a marker for anything the context lacks (rendered empty).
_ENGINE = SandboxEngine(
    variables=TEMPLATE_VARIABLES, autoescape=False, string_if_invalid=_MARK.format("%s")
)


def _unknown_message(names: list[str]) -> str:
    available = [
        name if attributes is None else f"{name}.{attribute}"
        for name, attributes in TEMPLATE_VARIABLES.items()
        for attribute in (attributes or (None,))
    ]
    return _("Unknown variable: %(names)s. Available: %(available)s.") % {
        "names": ", ".join(names),
        "available": ", ".join(available),
    }


def template_problem(source: str) -> str | None:
    """What is wrong with one template text (subject or body), or None."""
    try:
        template = _ENGINE.from_string(source or "")
    except TemplateRefused as exc:
        return str(exc)
    except TemplateSyntaxError as exc:
        return _("The template can't be read: %(error)s") % {"error": exc}
    if template.unknown_variables:
        return _unknown_message(template.unknown_variables)
    return None


def template_check(*, subject: str, body: str) -> None:
    """Raises ValidationError naming a syntax error, a tag or filter message templates
    may not use, or any variable (or attribute) that messages don't provide."""
    errors = {}
    for field, source in (("subject", subject), ("body", body)):
        problem = template_problem(source)
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationError(errors)


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str


# Built-in wording per kind and language (and "sms" when SMS needs a shorter one). A
# manager's MessageTemplate row of the same kind, language and channel replaces it.
DEFAULT_TEMPLATES: dict[tuple[str, str, str], Wording] = {
    (MessageKind.BIRTHDAY, "ru", ""): Wording(
        "С днём рождения!",
        "{{ patient.greeting_name }}, поздравляем с днём рождения! Здоровья вам. "
        "{{ clinic_name }}{% if optout_url %}\nОтписаться: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.BIRTHDAY, "en", ""): Wording(
        "Happy birthday!",
        "{{ patient.greeting_name }}, happy birthday and good health! {{ clinic_name }}"
        "{% if optout_url %}\nUnsubscribe: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.HOLIDAY, "ru", ""): Wording(
        "С праздником!",
        "{{ patient.greeting_name }}, поздравляем с праздником"
        "{% if holiday %} — {{ holiday }}{% endif %}! {{ clinic_name }}"
        "{% if optout_url %}\nОтписаться: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.HOLIDAY, "en", ""): Wording(
        "Season's greetings",
        "{{ patient.greeting_name }}, {% if holiday %}happy {{ holiday }}{% else %}season's "
        "greetings{% endif %} from {{ clinic_name }}!"
        "{% if optout_url %}\nUnsubscribe: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.SURVEY, "ru", ""): Wording(
        "Как прошёл визит?",
        "{{ patient.greeting_name }}, оцените, пожалуйста, визит — это займёт минуту.",
    ),
    (MessageKind.SURVEY, "en", ""): Wording(
        "How was your visit?",
        "{{ patient.greeting_name }}, please rate your visit; it takes a minute.",
    ),
}


def message_texts_register(
    *,
    variables: dict[str, tuple[str, ...] | None],
    examples: dict[str, Any],
    wordings: dict[tuple[str, str, str], Wording],
) -> None:
    """What a layer that plans messages adds to every template: its variables (with the
    editor's example values) and the built-in wording of its kinds. Registered in
    ``AppConfig.ready``, before any template is compiled."""
    TEMPLATE_VARIABLES.update(variables)
    EXAMPLE_CONTEXT.update(examples)
    DEFAULT_TEMPLATES.update(wordings)
    _ENGINE.allowed = allowed_lookups(TEMPLATE_VARIABLES)
    _compiled.cache_clear()


def _usable(row: MessageTemplate) -> bool:
    """Whether a saved template still passes the sandbox (one saved before a rule was
    tightened may not): if not, the built-in wording is used and the log says why."""
    problem = template_problem(row.subject) or template_problem(row.body)
    if problem:
        logger.warning("message template %s is not used: %s", row.pk, problem)
    return problem is None


def wording_for(*, kind: str, language: str, channel: str) -> Wording:
    """The manager's template for this kind, language and channel, else theirs for any
    channel, else the built-in one (in the language, else Russian)."""
    rows = shortly_cached(
        "templates",
        lambda: {
            (row.kind, row.language, row.channel): Wording(row.subject, row.body)
            for row in MessageTemplate.objects.all()
            if _usable(row)
        },
    )
    for key in (channel, ""):
        if (kind, language, key) in rows:
            return rows[(kind, language, key)]
    for lang in (language, "ru"):
        for key in (channel, ""):
            if (kind, lang, key) in DEFAULT_TEMPLATES:
                return DEFAULT_TEMPLATES[(kind, lang, key)]
    raise LookupError(f"no wording for {kind}/{language}/{channel}")


@lru_cache(maxsize=256)
def _compiled(text: str) -> SandboxTemplate:
    """The template compiled in the sandbox; raises TemplateSyntaxError for one that
    isn't allowed, so nothing renders that the check would refuse."""
    template = _ENGINE.from_string(text)
    if template.unknown_variables:
        raise TemplateRefused(_unknown_message(template.unknown_variables))
    return template


def render(wording: Wording, context: dict[str, Any], *, language: str) -> tuple[str, str]:
    """Renders subject and body in the patient's language. Whatever is missing renders
    empty; runs of blank lines collapse."""
    with translation.override(language):
        subject, body = (
            _MISSING.sub("", _compiled(text).render(Context(context)))
            for text in (wording.subject, wording.body)
        )
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return " ".join(subject.split())[:200], body


def absolute_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def greeting_name(patient: Patient) -> str:
    """ "Анна Сергеевна" reads right in Russian; the first name alone in English."""
    middle = patient.middle_name if patient.preferred_language == "ru" else ""
    return " ".join(part for part in (patient.first_name, middle) if part)


def patient_context(patient: Patient) -> dict[str, Any]:
    """Plain data for a template about the patient and the clinic; the layer that plans a
    message adds the facts of what it is about."""
    return {
        "patient": {
            "first_name": patient.first_name,
            "middle_name": patient.middle_name,
            "last_name": patient.last_name,
            "full_name": patient.full_name,
            "greeting_name": greeting_name(patient),
        },
        "clinic_name": settings.CLINIC_NAME,
        "holiday": "",
        "optout_url": "",
    }


EXAMPLE_CONTEXT: dict[str, Any] = {
    "patient": {
        "first_name": "Анна",
        "middle_name": "Сергеевна",
        "last_name": "Иванова",
        "full_name": "Иванова Анна Сергеевна",
        "greeting_name": "Анна Сергеевна",
    },
    "optout_url": "https://crm.example/p/optout/…/",
    "holiday": "Новый год",
    "clinic_name": "Клиника",
}


def example_render(*, subject: str, body: str, language: str) -> tuple[str, str]:
    """The template filled with an example patient and visit (the editor's preview)."""
    return render(Wording(subject, body), EXAMPLE_CONTEXT, language=language)
