"""A believable small clinic for `make run`: doctors with hours, services, and patients on
journeys in every state (draft, proposed, accepted, in progress, stalled, completed with a
check-up due, abandoned), past and future visits, handoffs. Plans and future bookings go
through the services, so the demo obeys every rule the product does; past visits are
written directly because the services refuse to book the past."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from journeys.errors import JourneyError
from journeys.models import (
    Branch,
    ChecklistCompletion,
    ChecklistItem,
    ChecklistTemplate,
    Handoff,
    Service,
    Specialty,
    Stage,
    TreatmentPlan,
    Visit,
    WorkingHours,
)
from journeys.services import plans as plan_services
from journeys.services.scheduling import next_free_slots, visit_book
from journeys.services.worklist import worklist_rules_run

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
    "Ортопедия": [("Установка коронки", 60, 25000, "")],
    "Гигиена": [("Профессиональная гигиена", 60, 6000, "")],
}
DOCTORS = [
    (
        "doctor@demo.clinic",
        "Игорь",
        "Петров",
        "Ортодонтия",
        "Врач-ортодонт, 12 лет практики. Спокойно объясняет каждый шаг лечения.",
    ),
    ("ortho2@demo.clinic", "Елена", "Волкова", "Ортодонтия", "Ортодонт, специалист по элайнерам."),
    ("therapist@demo.clinic", "Сергей", "Морозов", "Терапия", "Терапевт, лечит без боли."),
    ("surgeon@demo.clinic", "Андрей", "Лебедев", "Хирургия", "Хирург-имплантолог, 15 лет опыта."),
    ("prosthetist@demo.clinic", "Ольга", "Новикова", "Ортопедия", "Врач-ортопед."),
    ("hygienist@demo.clinic", "Наталья", "Фёдорова", "Гигиена", "Гигиенист."),
]


def _ensure_catalogue() -> tuple[dict[str, Specialty], dict[str, list[Service]]]:
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


def _ensure_checklists(services: dict[str, list[Service]]) -> list[tuple[ChecklistItem, float]]:
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


def _tick_demo_checklists(*, patients, items, admin, rng: random.Random) -> None:
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


def _ensure_doctors(branches, specialties) -> list[User]:
    doctors = []
    for index, (email, first, last, specialty, bio) in enumerate(DOCTORS):
        user = User.objects.filter(email=email).first()
        branch = branches[index % len(branches)] if index >= 2 else branches[0]
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
                WorkingHours(
                    doctor=user,
                    branch=branch,
                    weekday=day,
                    starts=time(9),
                    ends=time(19 if day < 5 else 15),
                )
                for day in range(6)
            )
        doctors.append(user)
    return doctors


def _past_visit(
    *, patient, doctor, branch, service, days_ago, stage=None, status=Visit.Status.COMPLETED
) -> Visit:
    zone = ZoneInfo(branch.time_zone)
    length = timedelta(minutes=service.duration_minutes)
    start = _free_past_start(
        doctor=doctor, zone=zone, length=length, day=timezone.localdate() - timedelta(days=days_ago)
    )
    return Visit.objects.create(
        patient=patient,
        doctor=doctor,
        branch=branch,
        service=service,
        stage=stage,
        starts_at=start,
        ends_at=start + length,
        status=status,
        completed_at=start if status == Visit.Status.COMPLETED else None,
        price_charged=service.price if status == Visit.Status.COMPLETED else None,
    )


def _free_past_start(*, doctor, zone, length, day):
    """The first quarter hour of a working day, going back day by day, when the doctor
    is free."""
    for back in range(60):
        current = day - timedelta(days=back)
        for slot in range(9 * 4, 18 * 4):
            start = datetime.combine(current, time(slot // 4, 15 * (slot % 4)), tzinfo=zone)
            busy = Visit.objects.filter(
                doctor=doctor, starts_at__lt=start + length, ends_at__gt=start
            ).exclude(status__in=Visit.CANCELLED)
            if not busy.exists():
                return start
    raise RuntimeError("no free past slot for demo data")


def _book_soon(*, actor, patient, doctor, branch, service, stage=None, after_days=1):
    for slot in next_free_slots(
        branch=branch,
        service=service,
        doctor=doctor,
        start_day=timezone.localdate() + timedelta(days=after_days),
        days=21,
        limit=20,
    ):
        try:
            return visit_book(
                actor=actor,
                patient=patient,
                doctor=doctor,
                branch=branch,
                service=service,
                starts_at=slot.starts_at,
                stage=stage,
            )
        except JourneyError:
            continue
    return None


@transaction.atomic
def demo_journeys_create(*, patients, rng: random.Random) -> dict[str, int]:
    branches = list(Branch.objects.order_by("id"))
    specialties, services = _ensure_catalogue()
    doctors = _ensure_doctors(branches, specialties)
    ortho, therapist = doctors[0], doctors[2]
    curator = User.objects.filter(groups__name=Role.CURATOR).first()
    admin = User.objects.filter(groups__name=Role.ADMINISTRATOR).first()
    consult, install, adjust, removal = services["Ортодонтия"]
    states = [
        "draft",
        "proposed",
        "accepted",
        "in_progress",
        "in_progress",
        "stalled",
        "completed",
        "abandoned",
        "handoff",
        "in_progress",
    ]
    counts: dict[str, int] = {}
    for index, patient in enumerate(patients):
        state = states[index % len(states)]
        branch = branches[0]
        plan = plan_services.plan_create(
            actor=ortho,
            patient=patient,
            title="Исправление прикуса",
            branch=branch,
            lead_doctor=ortho,
            curator=curator,
            observation_months=12,
        )
        stages = [
            plan_services.StageSpec(
                title="Установка брекетов",
                specialty=specialties["Ортодонтия"],
                service=install,
                offset_days=0,
                window_days=14,
                purpose="Фиксируем брекеты; займёт около полутора часов.",
                significant=True,
            ),
            *[
                plan_services.StageSpec(
                    title=f"Коррекция №{n}",
                    specialty=specialties["Ортодонтия"],
                    service=adjust,
                    offset_days=30 * n,
                    window_days=10,
                    purpose="Меняем дугу, чтобы зубы продолжали двигаться по плану.",
                )
                for n in range(1, 5)
            ],
            plan_services.StageSpec(
                title="Снятие брекетов",
                specialty=specialties["Ортодонтия"],
                service=removal,
                offset_days=180,
                window_days=21,
                purpose="Снимаем брекеты и ставим ретейнер.",
                significant=True,
            ),
        ]
        option = plan_services.plan_option_add(
            actor=ortho,
            plan=plan,
            title="Металлические брекеты",
            stages=stages,
            cost_estimate=Decimal("120000"),
            duration_weeks=30,
            expected_result="Ровные зубы и правильный прикус примерно через 7 месяцев.",
        )
        plan_services.plan_option_add(
            actor=ortho,
            plan=plan,
            title="Элайнеры",
            cost_estimate=Decimal("250000"),
            duration_weeks=40,
            expected_result="Незаметное выравнивание, каппы меняются дома.",
            stages=[
                plan_services.StageSpec(
                    title="Сканирование", specialty=specialties["Ортодонтия"], service=consult
                )
            ],
        )
        counts[state] = counts.get(state, 0) + 1
        if state == "draft":
            continue
        plan_services.plan_propose(actor=ortho, plan=plan)
        if state == "proposed":
            continue
        plan_services.plan_choose_option(actor=ortho, plan=plan, option=option)
        journey = list(option.stages.order_by("position"))
        if state == "accepted":
            _book_soon(
                actor=admin,
                patient=patient,
                doctor=ortho,
                branch=branch,
                service=install,
                stage=journey[0],
                after_days=rng.randint(1, 5),
            )
            continue
        if state == "abandoned":
            plan_services.plan_abandon(actor=ortho, plan=plan, reason="Переехал в другой город")
            continue
        # In treatment: the first stages happened in the past.
        done = rng.randint(1, 3)
        # A stalled journey stopped a month and a half ago: its next stage is overdue.
        _shift_plan_into_past(plan, journey, days=35 * done + (45 if state == "stalled" else 0))
        for n, stage in enumerate(journey[:done]):
            _past_visit(
                patient=patient,
                doctor=ortho,
                branch=branch,
                service=stage.service,
                days_ago=35 * (done - n),
                stage=stage,
            )
            Stage.objects.filter(pk=stage.pk).update(
                status=Stage.Status.DONE, done_at=timezone.now()
            )
        TreatmentPlan.objects.filter(pk=plan.pk).update(status=TreatmentPlan.Status.IN_PROGRESS)
        if index % 7 == 0:
            _past_visit(
                patient=patient,
                doctor=ortho,
                branch=branch,
                service=adjust,
                days_ago=12,
                status=Visit.Status.NO_SHOW,
            )
        if state in ("in_progress",):
            _book_soon(
                actor=admin,
                patient=patient,
                doctor=ortho,
                branch=branch,
                service=journey[done].service,
                stage=journey[done],
                after_days=rng.randint(0, 10),
            )
        elif state == "completed":
            TreatmentPlan.objects.filter(pk=plan.pk).update(
                status=TreatmentPlan.Status.COMPLETED,
                completed_at=timezone.now(),
                recall_due_on=timezone.localdate() - timedelta(days=rng.randint(0, 20)),
            )
        elif state == "handoff":
            Handoff.objects.create(
                patient=patient,
                plan=plan,
                branch_id=plan.branch_id,
                from_doctor=ortho,
                to_specialty=specialties["Хирургия"],
                curator=curator,
                reason="Удалить зубы мудрости до установки брекетов на нижнюю челюсть",
                due_date=timezone.localdate() - timedelta(days=rng.randint(0, 6)),
            )
            Handoff.objects.filter(patient=patient).update(
                created_at=timezone.now() - timedelta(days=10)
            )
        # "stalled": no future visit; its overdue stage opens a curator task below.
    # Some patients without plans see the therapist and hygienist.
    for patient in patients[len(states) * 3 :]:
        if rng.random() < 0.5:
            _past_visit(
                patient=patient,
                doctor=therapist,
                branch=branches[0],
                service=services["Терапия"][0],
                days_ago=rng.randint(5, 400),
            )
    # A dozen visits in the last four weeks, so the managers' checklist page (last 30
    # days by default) has figures to show.
    for patient in patients[len(states) * 3 :][:12]:
        _past_visit(
            patient=patient,
            doctor=therapist,
            branch=branches[0],
            service=rng.choice(services["Терапия"]),
            days_ago=rng.randint(1, 28),
        )
    _tick_demo_checklists(
        patients=patients, items=_ensure_checklists(services), admin=admin, rng=rng
    )
    worklist_rules_run()
    return counts


def _shift_plan_into_past(plan, stages, *, days):
    start = timezone.localdate() - timedelta(days=days)
    accepted = timezone.now() - timedelta(days=days)
    TreatmentPlan.objects.filter(pk=plan.pk).update(accepted_at=accepted)
    for stage in stages:
        window_start = start + timedelta(days=stage.offset_days)
        Stage.objects.filter(pk=stage.pk).update(
            window_start=window_start, window_end=window_start + timedelta(days=stage.window_days)
        )
