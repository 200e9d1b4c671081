"""The demo clinic's catalogue and staff: services by specialty, doctors with their hours
at both branches, the visit checklists."""

from __future__ import annotations

import random
from datetime import time, timedelta
from decimal import Decimal

from clinic_crm.catalogue.models import Service, Specialty
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from demo.calendar import DoctorDay
from journeys.models import (
    ChecklistCompletion,
    ChecklistItem,
    ChecklistTemplate,
    Visit,
    WorkingHours,
)

DEMO_PASSWORD = "Clinic-demo-2026"  # noqa: S105 - demo accounts, printed by make run

SERVICES = {
    "Ортодонтия": [
        ("Консультация ортодонта", 30, 2500, "Возьмите снимки, если они есть."),
        ("Установка брекет-системы", 90, 45000, "Почистите зубы перед визитом, поешьте заранее."),
        ("Коррекция брекет-системы", 30, 3500, "Почистите зубы перед визитом."),
        ("Снятие брекетов и ретейнер", 60, 12000, ""),
    ],
    "Терапия": [
        ("Лечение кариеса", 60, 7000, "Не ешьте за час до визита."),
        ("Профилактический осмотр", 30, 1500, ""),
    ],
    "Хирургия": [
        ("Удаление зуба мудрости", 60, 9000, "Поешьте за 2 часа, не принимайте алкоголь накануне."),
        ("Установка импланта", 90, 60000, "Накануне примите назначенный антибиотик."),
    ],
    "Ортопедия": [
        ("Консультация ортопеда", 30, 2000, "Возьмите снимки, если они есть."),
        ("Установка коронки", 60, 25000, ""),
    ],
    "Гигиена": [("Профессиональная гигиена", 60, 6000, "")],
}
# Two shifts, so that every branch has doctors at work on every day of the week:
# (weekday, from, to) blocks.
EARLY = [*[(day, time(9), time(18)) for day in range(5)], (5, time(10), time(16))]
LATE = [*[(day, time(11), time(20)) for day in range(5)], (6, time(10), time(16))]
# email, first and last name, specialty, bio, branch (index), shift
DOCTORS = [
    (
        "doctor@demo.clinic",
        "Игорь",
        "Петров",
        "Ортодонтия",
        "Врач-ортодонт, 12 лет практики. Спокойно объясняет каждый шаг лечения.",
        0,
        EARLY,
    ),
    ("therapist@demo.clinic", "Сергей", "Морозов", "Терапия", "Терапевт, лечит без боли.", 0, LATE),
    (
        "surgeon@demo.clinic",
        "Андрей",
        "Лебедев",
        "Хирургия",
        "Хирург-имплантолог, 15 лет опыта.",
        0,
        EARLY,
    ),
    ("hygienist@demo.clinic", "Наталья", "Фёдорова", "Гигиена", "Гигиенист.", 0, LATE),
    (
        "ortho2@demo.clinic",
        "Елена",
        "Волкова",
        "Ортодонтия",
        "Ортодонт, специалист по элайнерам.",
        1,
        LATE,
    ),
    ("prosthetist@demo.clinic", "Ольга", "Новикова", "Ортопедия", "Врач-ортопед.", 1, EARLY),
    (
        "therapist2@demo.clinic",
        "Дмитрий",
        "Козлов",
        "Терапия",
        "Терапевт, лечение каналов под микроскопом.",
        1,
        EARLY,
    ),
    ("hygienist2@demo.clinic", "Ксения", "Орлова", "Гигиена", "Гигиенист, детский приём.", 1, LATE),
]
# How often each service is booked on a doctor's day.
SERVICE_WEIGHTS = {
    "Консультация ортодонта": 3,
    "Установка брекет-системы": 1,
    "Коррекция брекет-системы": 6,
    "Снятие брекетов и ретейнер": 1,
    "Лечение кариеса": 5,
    "Профилактический осмотр": 3,
    "Удаление зуба мудрости": 3,
    "Установка импланта": 1,
    "Консультация ортопеда": 2,
    "Установка коронки": 3,
    "Профессиональная гигиена": 1,
}


def catalogue_ensure() -> tuple[dict[str, Specialty], dict[str, list[Service]]]:
    specialties = {name: Specialty.objects.get_or_create(name=name)[0] for name in SERVICES}
    services: dict[str, list[Service]] = {}
    for specialty_name, rows in SERVICES.items():
        services[specialty_name] = [
            Service.objects.get_or_create(
                specialty=specialties[specialty_name],
                name=name,
                defaults={
                    "duration_minutes": minutes,
                    "price": Decimal(price),
                    "preparation": preparation,
                    "category": specialty_name,
                    "follow_up_next_day": minutes >= 60,
                },
            )[0]
            for name, minutes, price, preparation in rows
        ]
    return specialties, services


# (name, audience, services it is used for — None for every service, items with the
# share of demo visits on which each is ticked)
CHECKLISTS = [
    (
        "Готовность к визиту",
        ChecklistTemplate.Audience.ADMINISTRATOR,
        None,
        [
            ("Напоминание подтверждено пациентом", 0.92),
            ("Инструкции по подготовке отправлены", 0.74),
            ("Карта и снимки готовы", 0.83),
        ],
    ),
    (
        "Стандарт общения с пациентом",
        ChecklistTemplate.Audience.DOCTOR,
        # treatment visits, not the short check-ups and hygiene
        [
            "Консультация ортодонта",
            "Установка брекет-системы",
            "Коррекция брекет-системы",
            "Снятие брекетов и ретейнер",
            "Лечение кариеса",
            "Удаление зуба мудрости",
            "Установка импланта",
            "Установка коронки",
        ],
        [
            ("Представился и объяснил план на сегодня", 0.95),
            ("Объяснил результат простыми словами и что будет дальше", 0.71),
            ("Спросил, остались ли вопросы", 0.58),
            ("Договорились о следующем шаге", 0.86),
        ],
    ),
]


def checklists_ensure(services: dict[str, list[Service]]) -> list[tuple[ChecklistItem, float]]:
    """The two demo checklists; returns every item with its demo tick share."""
    items = []
    for name, audience, used_for, rows in CHECKLISTS:
        template, created = ChecklistTemplate.objects.get_or_create(
            name=name, defaults={"audience": audience}
        )
        if created and used_for:
            template.services.add(
                *[s for group in services.values() for s in group if s.name in used_for]
            )
        for position, (text, share) in enumerate(rows, start=1):
            item, _created = ChecklistItem.objects.get_or_create(
                template=template, text=text, defaults={"position": position}
            )
            items.append((item, share))
    return items


def checklists_tick(*, patients, items, admin, rng: random.Random) -> None:
    """Ticks the checklists of the demo's past completed visits, each item on about its
    share of them, so the managers' completion page has believable figures. Written
    directly: these are past facts, like the past visits themselves."""
    templates = ChecklistTemplate.objects.filter(
        pk__in={item.template_id for item, _share in items}
    ).prefetch_related("services")
    used_for = {t.pk: {s.pk for s in t.services.all()} for t in templates}
    audience = {t.pk: t.audience for t in templates}
    ticks = []
    for visit in Visit.objects.filter(patient__in=patients, status=Visit.Status.COMPLETED):
        for item, share in items:
            services_of_item = used_for[item.template_id]
            if services_of_item and visit.service_id not in services_of_item:
                continue
            if rng.random() >= share:
                continue
            if audience[item.template_id] == ChecklistTemplate.Audience.DOCTOR:
                by, at = visit.doctor_id, visit.starts_at + timedelta(minutes=20)
            elif admin is not None:
                by, at = admin.pk, visit.starts_at - timedelta(days=1)
            else:
                continue
            ticks.append(
                ChecklistCompletion(visit=visit, item=item, checked_by_id=by, checked_at=at)
            )
    ChecklistCompletion.objects.bulk_create(ticks, ignore_conflicts=True)


def doctors_ensure(branches, specialties) -> list[User]:
    doctors = []
    for email, first, last, specialty, bio, branch_index, shift in DOCTORS:
        branch = branches[branch_index % len(branches)]
        user = User.objects.filter(email=email).first()
        if user is None:
            user, _ = staff_create(
                email=email,
                role=Role.DOCTOR,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                branch=branch,
                specialty=specialties[specialty],
                short_bio=bio,
            )
        if not user.working_hours.exists():
            WorkingHours.objects.bulk_create(
                WorkingHours(doctor=user, branch=branch, weekday=day, starts=starts, ends=ends)
                for day, starts, ends in shift
            )
        doctors.append(user)
    return doctors


def doctor_days(doctors, services) -> list[DoctorDay]:
    """Each doctor at their branch with the services of their specialty."""
    by_specialty = {group[0].specialty_id: group for group in services.values()}
    hours = {h.doctor_id: h.branch for h in WorkingHours.objects.select_related("branch")}
    return [
        DoctorDay(
            doctor=doctor,
            branch=hours[doctor.pk],
            services=[
                (service, SERVICE_WEIGHTS.get(service.name, 1))
                for service in by_specialty[doctor.profile.specialty_id]
            ],
        )
        for doctor in doctors
        if doctor.pk in hours
    ]
