"""A believable small clinic for `make run`: four doctors per branch in two shifts (so
every day of the week has doctors at work), services, and patients on journeys in every
state (draft, proposed, accepted, in progress, stalled, completed with a check-up due,
abandoned), handoffs open and booked, and every doctor's calendar full around "now"
(``demo.calendar``). Plans and future bookings go through the services, so the
demo obeys every rule the product does; past visits are written directly because the
services refuse to book the past."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinic_crm.catalogue.models import Branch, Service, Specialty
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from demo.calendar import DemoCalendar, DoctorDay, calendar_fill, past_visit
from journeys.errors import JourneyError
from journeys.models import (
    ChecklistCompletion,
    ChecklistItem,
    ChecklistTemplate,
    Handoff,
    Stage,
    TreatmentPlan,
    Visit,
    WorkingHours,
)
from journeys.services import plans as plan_services
from journeys.services.scheduling import visit_book
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


def _doctor_days(doctors, services) -> list[DoctorDay]:
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


def _past_visit(
    *,
    calendar: DemoCalendar,
    patient,
    doctor,
    branch,
    service,
    days_ago,
    stage=None,
    status=Visit.Status.COMPLETED,
) -> Visit | None:
    """A visit ``days_ago`` days before now (or the nearest earlier day the doctor and
    the patient are free), inside the doctor's hours."""
    today = calendar.today(branch)
    days = (today - timedelta(days=days_ago + back) for back in range(60))
    length = timedelta(minutes=service.duration_minutes)
    for start in calendar.free_starts(
        doctor=doctor, branch=branch, patient=patient, length=length, days=days
    ):
        if start + length > calendar.now:
            continue
        visit = past_visit(
            patient=patient,
            doctor=doctor,
            branch=branch,
            service=service,
            start=start,
            status=status,
            stage=stage,
        )
        visit.save()
        calendar.add(visit)
        return visit
    return None


def _book_soon(*, calendar: DemoCalendar, actor, patient, doctor, branch, service, **links):
    """Books the first free time of ``doctor`` from ``after_days`` days ahead on, through
    the service (which plans the reminders)."""
    after_days = links.pop("after_days", 1)
    today = calendar.today(branch)
    days = (today + timedelta(days=after_days + n) for n in range(21))
    length = timedelta(minutes=service.duration_minutes)
    starts = calendar.free_starts(
        doctor=doctor, branch=branch, patient=patient, length=length, days=days
    )
    for _attempt, start in zip(range(20), (s for s in starts if s > calendar.now), strict=False):
        try:
            visit = visit_book(
                actor=actor,
                patient=patient,
                doctor=doctor,
                branch=branch,
                service=service,
                starts_at=start,
                **links,
            )
        except JourneyError:
            continue
        calendar.add(visit)
        return visit
    return None


@transaction.atomic
def demo_journeys_create(
    *, patients, rng: random.Random, now: datetime | None = None, visitors=None
) -> dict[str, int]:
    """Journeys for ``patients`` (every state, led by the clinic's two orthodontists in
    both branches), each doctor's calendar around ``now`` filled with ``visitors``
    (patients without a plan), and the worklist rules run. ``now`` defaults to the
    clock; the demo places everything relative to it."""
    now = now or timezone.now()
    branches = list(Branch.objects.order_by("id"))
    specialties, services = _ensure_catalogue()
    doctors = _ensure_doctors(branches, specialties)
    visitors = list(visitors or [])
    calendar = DemoCalendar.load(
        now=now, doctors=doctors, patients=[p.pk for p in [*patients, *visitors]]
    )
    by_email = {doctor.email: doctor for doctor in doctors}
    orthodontists = [by_email["doctor@demo.clinic"], by_email["ortho2@demo.clinic"]]
    surgeon = by_email["surgeon@demo.clinic"]
    branch_of = {day.doctor.pk: day.branch for day in _doctor_days(doctors, services)}
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
        # The two orthodontists share the plans, each in their own branch.
        ortho = orthodontists[(index // len(states) + index) % len(orthodontists)]
        branch = branch_of[ortho.pk]
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
                calendar=calendar,
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
        _shift_plan_into_past(
            plan, journey, days=35 * done + (45 if state == "stalled" else 0), now=now
        )
        for n, stage in enumerate(journey[:done]):
            _past_visit(
                calendar=calendar,
                patient=patient,
                doctor=ortho,
                branch=branch,
                service=stage.service,
                days_ago=35 * (done - n),
                stage=stage,
            )
            Stage.objects.filter(pk=stage.pk).update(status=Stage.Status.DONE, done_at=now)
        TreatmentPlan.objects.filter(pk=plan.pk).update(status=TreatmentPlan.Status.IN_PROGRESS)
        if index % 7 == 0:
            _past_visit(
                calendar=calendar,
                patient=patient,
                doctor=ortho,
                branch=branch,
                service=adjust,
                days_ago=12,
                status=Visit.Status.NO_SHOW,
            )
        if state in ("in_progress",):
            _book_soon(
                calendar=calendar,
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
                completed_at=now,
                recall_due_on=calendar.today(branch) - timedelta(days=rng.randint(0, 20)),
            )
        elif state == "handoff":
            handoff = Handoff.objects.create(
                patient=patient,
                plan=plan,
                branch_id=plan.branch_id,
                from_doctor=ortho,
                to_specialty=specialties["Хирургия"],
                curator=curator,
                reason="Удалить зубы мудрости до установки брекетов на нижнюю челюсть",
                due_date=calendar.today(branch) - timedelta(days=rng.randint(0, 6)),
            )
            Handoff.objects.filter(pk=handoff.pk).update(created_at=now - timedelta(days=10))
            # Every other one the curator has already booked with the surgeon.
            if index // len(states) % 2 == 0:
                _book_soon(
                    calendar=calendar,
                    actor=curator,
                    patient=patient,
                    doctor=surgeon,
                    branch=branch_of[surgeon.pk],
                    service=services["Хирургия"][0],
                    handoff=handoff,
                    after_days=rng.randint(1, 6),
                )
        # "stalled": no future visit; its overdue stage opens a curator task below.
    # Patients without plans have a history with the therapists and hygienists.
    others = [by_email[e] for e in DOCTORS_WITHOUT_PLANS]
    for patient in patients[len(states) * 3 :]:
        if rng.random() < 0.5:
            doctor = rng.choice(others)
            _past_visit(
                calendar=calendar,
                patient=patient,
                doctor=doctor,
                branch=branch_of[doctor.pk],
                service=services[_SPECIALTY_OF[doctor.email]][0],
                days_ago=rng.randint(10, 400),
            )
    # Every doctor's calendar around now: the past week, today, the coming week.
    counts["calendar"] = sum(
        calendar_fill(
            calendar=calendar,
            doctors=_doctor_days(doctors, services),
            patients=visitors,
            front_desk=admin,
            rng=rng,
        ).values()
    )
    _tick_demo_checklists(
        patients=[*patients, *visitors],
        items=_ensure_checklists(services),
        admin=admin,
        rng=rng,
    )
    worklist_rules_run()
    return counts


DOCTORS_WITHOUT_PLANS = [
    "therapist@demo.clinic",
    "hygienist@demo.clinic",
    "therapist2@demo.clinic",
    "hygienist2@demo.clinic",
]
_SPECIALTY_OF = {email: specialty for email, _f, _l, specialty, *_rest in DOCTORS}


def _shift_plan_into_past(plan, stages, *, days, now):
    start = timezone.localdate(now) - timedelta(days=days)
    accepted = now - timedelta(days=days)
    TreatmentPlan.objects.filter(pk=plan.pk).update(accepted_at=accepted)
    for stage in stages:
        window_start = start + timedelta(days=stage.offset_days)
        Stage.objects.filter(pk=stage.pk).update(
            window_start=window_start, window_end=window_start + timedelta(days=stage.window_days)
        )
