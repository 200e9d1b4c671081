"""Turning a template and the facts of a patient's journey into a message's text.

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
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, TemplateSyntaxError
from django.utils import formats, translation
from django.utils.translation import gettext as _

from patients.zones import patient_zone

from .caching import shortly_cached
from .models import MessageKind, MessageTemplate
from .sandbox import SandboxEngine, SandboxTemplate, TemplateRefused

logger = logging.getLogger("clinic_crm.messaging")

# What a template may use. Each name maps to the attributes it offers; ``None`` means a
# plain string. Kept in one place: the editor lists it, the check enforces it.
TEMPLATE_VARIABLES: dict[str, tuple[str, ...] | None] = {
    "patient": ("first_name", "middle_name", "last_name", "full_name", "greeting_name"),
    "doctor": ("name", "bio", "specialty"),
    "branch": ("name", "address", "directions"),
    "service": ("name", "preparation", "what_to_expect", "duration_minutes"),
    "visit": ("date", "time", "weekday"),
    "stage": ("title", "purpose", "materials"),
    "plan": ("title",),
    "calendar_url": None,
    "confirm_url": None,
    "optout_url": None,
    "clinic_name": None,
    "holiday": None,
    "feel_url": None,
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
    (MessageKind.REMINDER, "ru", ""): Wording(
        "Напоминание о визите {{ visit.date }} в {{ visit.time }}",
        "{{ patient.greeting_name }}, ждём вас {{ visit.weekday }}, {{ visit.date }} "
        "в {{ visit.time }}.\n"
        "Врач: {{ doctor.name }}{% if doctor.specialty %}, {{ doctor.specialty }}{% endif %}."
        "{% if doctor.bio %}\n{{ doctor.bio }}{% endif %}\n"
        "{% if stage.purpose %}Зачем этот визит: {{ stage.purpose }}\n{% endif %}"
        "{% if service.preparation %}Как подготовиться: {{ service.preparation }}\n{% endif %}"
        "Адрес: {{ branch.address }}."
        "{% if branch.directions %} {{ branch.directions }}{% endif %}\n"
        "{% if confirm_url %}Подтвердить, отменить или перенести: {{ confirm_url }}\n{% endif %}"
        "{% if calendar_url %}Ваш план лечения: {{ calendar_url }}{% endif %}",
    ),
    (MessageKind.REMINDER, "ru", "sms"): Wording(
        "",
        "{{ patient.greeting_name }}, ждём вас {{ visit.date }} в {{ visit.time }}, "
        "{{ branch.address }}, врач {{ doctor.name }}."
        "{% if confirm_url %} Подтвердить/перенести: {{ confirm_url }}{% endif %}",
    ),
    (MessageKind.REMINDER, "en", ""): Wording(
        "Your visit on {{ visit.date }} at {{ visit.time }}",
        "{{ patient.greeting_name }}, we look forward to seeing you on {{ visit.weekday }}, "
        "{{ visit.date }} at {{ visit.time }}.\n"
        "Your doctor: {{ doctor.name }}{% if doctor.specialty %}, {{ doctor.specialty }}"
        "{% endif %}.{% if doctor.bio %}\n{{ doctor.bio }}{% endif %}\n"
        "{% if stage.purpose %}Why you come that day: {{ stage.purpose }}\n{% endif %}"
        "{% if service.preparation %}How to prepare: {{ service.preparation }}\n{% endif %}"
        "Address: {{ branch.address }}."
        "{% if branch.directions %} {{ branch.directions }}{% endif %}\n"
        "{% if confirm_url %}Confirm, cancel or ask to reschedule: {{ confirm_url }}\n"
        "{% endif %}{% if calendar_url %}Your treatment plan: {{ calendar_url }}{% endif %}",
    ),
    (MessageKind.REMINDER, "en", "sms"): Wording(
        "",
        "{{ patient.greeting_name }}, see you on {{ visit.date }} at {{ visit.time }}, "
        "{{ branch.address }}, with {{ doctor.name }}."
        "{% if confirm_url %} Confirm/reschedule: {{ confirm_url }}{% endif %}",
    ),
    (MessageKind.FOLLOW_UP, "ru", ""): Wording(
        "Как вы себя чувствуете?",
        "{{ patient.greeting_name }}, вчера вы были у врача {{ doctor.name }}"
        "{% if service.name %} ({{ service.name }}){% endif %}. Как вы себя чувствуете? "
        "{% if feel_url %}Ответьте одним нажатием: {{ feel_url }} — {% endif %}"
        "если что-то беспокоит, мы перезвоним.",
    ),
    (MessageKind.FOLLOW_UP, "en", ""): Wording(
        "How do you feel?",
        "{{ patient.greeting_name }}, yesterday you saw {{ doctor.name }}"
        "{% if service.name %} ({{ service.name }}){% endif %}. How do you feel? "
        "{% if feel_url %}Answer with one tap: {{ feel_url }} — {% endif %}"
        "if anything worries you, we will call you back.",
    ),
    (MessageKind.RECALL, "ru", ""): Wording(
        "Пора на контрольный осмотр",
        "{{ patient.greeting_name }}, подошло время контрольного осмотра"
        "{% if plan.title %} после лечения «{{ plan.title }}»{% endif %}. "
        "Запишитесь, чтобы сохранить результат.{% if calendar_url %} {{ calendar_url }}"
        "{% endif %}{% if optout_url %}\nНе присылать такие напоминания: {{ optout_url }}"
        "{% endif %}",
    ),
    (MessageKind.RECALL, "en", ""): Wording(
        "Time for your check-up",
        "{{ patient.greeting_name }}, it is time for your check-up"
        "{% if plan.title %} after “{{ plan.title }}”{% endif %}. Book it to keep the "
        "result.{% if calendar_url %} {{ calendar_url }}{% endif %}"
        "{% if optout_url %}\nNo more of these: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.REACTIVATION, "ru", ""): Wording(
        "Давно не виделись",
        "{{ patient.greeting_name }}, вы давно не были у нас. Профилактический осмотр "
        "раз в год помогает не пропустить важное — будем рады записать вас."
        "{% if optout_url %}\nОтписаться: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.REACTIVATION, "en", ""): Wording(
        "It has been a while",
        "{{ patient.greeting_name }}, it has been a while since your last visit. A yearly "
        "check-up keeps small things small; we will be glad to book you."
        "{% if optout_url %}\nUnsubscribe: {{ optout_url }}{% endif %}",
    ),
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
    (MessageKind.EDUCATION, "ru", ""): Wording(
        "{{ stage.title }}: что важно знать",
        "{{ patient.greeting_name }}, скоро этап «{{ stage.title }}». {{ stage.purpose }}"
        "\n{{ stage.materials }}{% if calendar_url %}\nВаш план: {{ calendar_url }}{% endif %}"
        "{% if optout_url %}\nНе присылать материалы: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.EDUCATION, "en", ""): Wording(
        "{{ stage.title }}: what to know",
        "{{ patient.greeting_name }}, “{{ stage.title }}” is coming up. {{ stage.purpose }}"
        "\n{{ stage.materials }}{% if calendar_url %}\nYour plan: {{ calendar_url }}{% endif %}"
        "{% if optout_url %}\nNo more materials: {{ optout_url }}{% endif %}",
    ),
    (MessageKind.NEW_DOCTOR, "ru", ""): Wording(
        "Знакомьтесь: {{ doctor.name }}",
        "{{ patient.greeting_name }}, {{ visit.date }} в {{ visit.time }} вас примет "
        "{{ doctor.name }}{% if doctor.specialty %}, {{ doctor.specialty }}{% endif %}."
        "{% if doctor.bio %}\n{{ doctor.bio }}{% endif %}\nАдрес: {{ branch.address }}.",
    ),
    (MessageKind.NEW_DOCTOR, "en", ""): Wording(
        "Meet {{ doctor.name }}",
        "{{ patient.greeting_name }}, on {{ visit.date }} at {{ visit.time }} you will see "
        "{{ doctor.name }}{% if doctor.specialty %}, {{ doctor.specialty }}{% endif %}."
        "{% if doctor.bio %}\n{{ doctor.bio }}{% endif %}\nAddress: {{ branch.address }}.",
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


def _person_name(user) -> str:
    if user is None:
        return ""
    return str(user)


def journey_context(
    *, patient, visit=None, stage=None, plan=None, doctor=None, links: dict | None = None
) -> dict[str, Any]:
    """Plain data for a template from the journey's rows. Dates and times are shown in
    the patient's time zone and language."""
    zone = patient_zone(patient)
    doctor = doctor if doctor is not None else getattr(visit, "doctor", None)
    profile = getattr(doctor, "profile", None) if doctor is not None else None
    branch = getattr(visit, "branch", None) or getattr(plan, "branch", None)
    service = getattr(visit, "service", None)
    stage = stage if stage is not None else getattr(visit, "stage", None)
    context: dict[str, Any] = {
        "patient": {
            "first_name": patient.first_name,
            "middle_name": patient.middle_name,
            "last_name": patient.last_name,
            "full_name": patient.full_name,
            # "Анна Сергеевна" reads right in Russian; the first name alone in English.
            "greeting_name": " ".join(
                part
                for part in (
                    patient.first_name,
                    patient.middle_name if patient.preferred_language == "ru" else "",
                )
                if part
            ),
        },
        "doctor": {
            "name": _person_name(doctor),
            "bio": getattr(profile, "short_bio", "") or "",
            "specialty": str(getattr(getattr(profile, "specialty", None), "name", "") or ""),
        },
        "branch": {
            "name": getattr(branch, "name", ""),
            "address": getattr(branch, "address", ""),
            "directions": getattr(branch, "directions", ""),
        },
        "service": {
            "name": getattr(service, "name", ""),
            "preparation": getattr(service, "preparation", ""),
            "what_to_expect": getattr(service, "what_to_expect", ""),
            "duration_minutes": str(getattr(service, "duration_minutes", "") or ""),
        },
        "stage": {
            "title": getattr(stage, "title", ""),
            "purpose": getattr(stage, "purpose", ""),
            "materials": getattr(stage, "materials", ""),
        },
        "plan": {"title": getattr(plan, "title", "")},
        "clinic_name": settings.CLINIC_NAME,
        "holiday": "",
        "feel_url": "",
        "calendar_url": "",
        "confirm_url": "",
        "optout_url": "",
    }
    if visit is not None:
        local: datetime = visit.starts_at.astimezone(zone)
        with translation.override(patient.preferred_language or "ru"):
            context["visit"] = {
                "date": formats.date_format(local, "DATE_FORMAT"),
                "time": local.strftime("%H:%M"),
                "weekday": formats.date_format(local, "l").lower(),
            }
    else:
        context["visit"] = {"date": "", "time": "", "weekday": ""}
    context.update(links or {})
    return context


EXAMPLE_CONTEXT: dict[str, Any] = {
    "patient": {
        "first_name": "Анна",
        "middle_name": "Сергеевна",
        "last_name": "Иванова",
        "full_name": "Иванова Анна Сергеевна",
        "greeting_name": "Анна Сергеевна",
    },
    "doctor": {
        "name": "Ирина Волкова",
        "bio": "Ортодонт, 12 лет лечит брекетами взрослых.",
        "specialty": "Ортодонтия",
    },
    "branch": {
        "name": "Центральный",
        "address": "Москва, Тверская, 7",
        "directions": "Парковка во дворе, въезд с Газетного переулка.",
    },
    "service": {
        "name": "Коррекция брекет-системы",
        "preparation": "Почистите зубы перед визитом.",
        "what_to_expect": "Врач заменит дуги, это займёт полчаса.",
        "duration_minutes": "30",
    },
    "visit": {"date": "2 декабря 2026", "time": "11:00", "weekday": "среда"},
    "stage": {
        "title": "Активация брекетов",
        "purpose": "Подтянуть дуги, чтобы зубы продолжали двигаться.",
        "materials": "После активации зубы могут ныть 2–3 дня — это нормально.",
    },
    "plan": {"title": "Лечение брекетами"},
    "calendar_url": "https://crm.example/p/calendar/…/",
    "confirm_url": "https://crm.example/p/visit/…/",
    "optout_url": "https://crm.example/p/optout/…/",
    "feel_url": "https://crm.example/p/feel/…/",
    "holiday": "Новый год",
    "clinic_name": "Клиника",
}


def example_render(*, subject: str, body: str, language: str) -> tuple[str, str]:
    """The template filled with an example patient and visit (the editor's preview)."""
    return render(Wording(subject, body), EXAMPLE_CONTEXT, language=language)
