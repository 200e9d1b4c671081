"""What the journeys' messages say: the template variables about a visit, plan and
stage (with the editor's examples), the built-in wording of the journeys' kinds, and the
facts for one message. Messaging renders them; it learns of them by registration
(``register``, from ``JourneysConfig.ready``) and knows no journey rows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import formats, translation

from clinic_crm.messaging.models import MessageKind
from clinic_crm.messaging.rendering import Wording, message_texts_register
from patients.zones import patient_zone

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
    from patients.models import Patient

    from .models import Stage, TreatmentPlan, Visit

VARIABLES: dict[str, tuple[str, ...] | None] = {
    "doctor": ("name", "bio", "specialty"),
    "branch": ("name", "address", "directions"),
    "service": ("name", "preparation", "what_to_expect", "duration_minutes"),
    "visit": ("date", "time", "weekday"),
    "stage": ("title", "purpose", "materials"),
    "plan": ("title",),
    "calendar_url": None,
    "confirm_url": None,
    "feel_url": None,
    "screening_url": None,
}

EXAMPLES: dict[str, Any] = {
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
    "feel_url": "https://crm.example/p/feel/…/",
    "screening_url": "https://crm.example/p/screening/…/",
}

# Built-in wording per kind and language (and "sms" when SMS needs a shorter one). A
# manager's MessageTemplate row of the same kind, language and channel replaces it.
WORDINGS: dict[tuple[str, str, str], Wording] = {
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
        "{% if screening_url %}Анкета перед визитом (2 минуты): {{ screening_url }}\n{% endif %}"
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
        "{% endif %}{% if screening_url %}Questionnaire before your visit (2 minutes): "
        "{{ screening_url }}\n{% endif %}"
        "{% if calendar_url %}Your treatment plan: {{ calendar_url }}{% endif %}",
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
}


def journey_facts(
    *,
    patient: Patient,
    visit: Visit | None = None,
    stage: Stage | None = None,
    plan: TreatmentPlan | None = None,
) -> dict[str, Any]:
    """Plain data for a template from the journey's rows. Dates and times are shown in
    the patient's time zone and language."""
    doctor: User | None = visit.doctor if visit is not None else None
    profile = getattr(doctor, "profile", None) if doctor is not None else None
    branch = (visit.branch if visit is not None else None) or (
        plan.branch if plan is not None else None
    )
    service = visit.service if visit is not None else None
    stage = stage if stage is not None else (visit.stage if visit is not None else None)
    specialty = getattr(profile, "specialty", None)
    facts: dict[str, Any] = {
        "doctor": {
            "name": str(doctor) if doctor is not None else "",
            "bio": getattr(profile, "short_bio", "") or "",
            "specialty": str(getattr(specialty, "name", "") or ""),
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
        "visit": {"date": "", "time": "", "weekday": ""},
    }
    if visit is not None:
        local: datetime = visit.starts_at.astimezone(patient_zone(patient))
        with translation.override(patient.preferred_language or "ru"):
            facts["visit"] = {
                "date": formats.date_format(local, "DATE_FORMAT"),
                "time": local.strftime("%H:%M"),
                "weekday": formats.date_format(local, "l").lower(),
            }
    return facts


def register() -> None:
    message_texts_register(variables=VARIABLES, examples=EXAMPLES, wordings=WORDINGS)
