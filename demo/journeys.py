"""A believable small clinic for `make run`: four doctors per branch in two shifts (so
every day of the week has doctors at work), services, and patients on journeys in every
state (draft, proposed, accepted, in progress, stalled, completed with a check-up due,
abandoned), handoffs open and booked, and every doctor's calendar full around "now"
(``demo.calendar``). Plans and future bookings go through the services, so the
demo obeys every rule the product does; past visits are written directly because the
services refuse to book the past."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from demo.calendar import DemoCalendar, calendar_fill, past_visit
from demo.clinic import (
    DOCTORS,
    catalogue_ensure,
    checklists_ensure,
    checklists_tick,
    doctor_days,
    doctors_ensure,
)
from journeys.errors import JourneyError
from journeys.models import (
    Handoff,
    Stage,
    TreatmentPlan,
    Visit,
)
from journeys.services.plans import (
    StageSpec,
    plan_abandon,
    plan_choose_option,
    plan_create,
    plan_option_add,
    plan_propose,
)
from journeys.services.visits import visit_book
from journeys.services.worklist import worklist_rules_run


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
    specialties, services = catalogue_ensure()
    doctors = doctors_ensure(branches, specialties)
    visitors = list(visitors or [])
    calendar = DemoCalendar.load(
        now=now, doctors=doctors, patients=[p.pk for p in [*patients, *visitors]]
    )
    by_email = {doctor.email: doctor for doctor in doctors}
    orthodontists = [by_email["doctor@demo.clinic"], by_email["ortho2@demo.clinic"]]
    surgeon = by_email["surgeon@demo.clinic"]
    branch_of = {day.doctor.pk: day.branch for day in doctor_days(doctors, services)}
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
        plan = plan_create(
            actor=ortho,
            patient=patient,
            title="Исправление прикуса",
            branch=branch,
            lead_doctor=ortho,
            curator=curator,
            observation_months=12,
        )
        stages = [
            StageSpec(
                title="Установка брекетов",
                specialty=specialties["Ортодонтия"],
                service=install,
                offset_days=0,
                window_days=14,
                purpose="Фиксируем брекеты; займёт около полутора часов.",
                significant=True,
            ),
            *[
                StageSpec(
                    title=f"Коррекция №{n}",
                    specialty=specialties["Ортодонтия"],
                    service=adjust,
                    offset_days=30 * n,
                    window_days=10,
                    purpose="Меняем дугу, чтобы зубы продолжали двигаться по плану.",
                )
                for n in range(1, 5)
            ],
            StageSpec(
                title="Снятие брекетов",
                specialty=specialties["Ортодонтия"],
                service=removal,
                offset_days=180,
                window_days=21,
                purpose="Снимаем брекеты и ставим ретейнер.",
                significant=True,
            ),
        ]
        option = plan_option_add(
            actor=ortho,
            plan=plan,
            title="Металлические брекеты",
            stages=stages,
            cost_estimate=Decimal("120000"),
            duration_weeks=30,
            expected_result="Ровные зубы и правильный прикус примерно через 7 месяцев.",
        )
        plan_option_add(
            actor=ortho,
            plan=plan,
            title="Элайнеры",
            cost_estimate=Decimal("250000"),
            duration_weeks=40,
            expected_result="Незаметное выравнивание, каппы меняются дома.",
            stages=[
                StageSpec(
                    title="Сканирование", specialty=specialties["Ортодонтия"], service=consult
                )
            ],
        )
        counts[state] = counts.get(state, 0) + 1
        if state == "draft":
            continue
        plan_propose(actor=ortho, plan=plan)
        if state == "proposed":
            continue
        plan_choose_option(actor=ortho, plan=plan, option=option)
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
            plan_abandon(actor=ortho, plan=plan, reason="Переехал в другой город")
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
            doctors=doctor_days(doctors, services),
            patients=visitors,
            front_desk=admin,
            rng=rng,
        ).values()
    )
    checklists_tick(
        patients=[*patients, *visitors],
        items=checklists_ensure(services),
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
