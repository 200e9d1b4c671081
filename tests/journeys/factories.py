"""Factories and builders of journeys rows: services, working hours, plans, visits and
handoffs; an accepted plan, an arrived visit, the small clinic of the scheduling tests, and
checklist templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone

from clinic_crm.catalogue.models import Service
from clinic_crm.staff.roles import Role
from journeys.models import (
    ChecklistItem,
    ChecklistTemplate,
    Handoff,
    PlanOption,
    Stage,
    TreatmentPlan,
    Visit,
    WorkingHours,
)
from journeys.services.plans import (
    StageSpec,
    plan_choose_option,
    plan_create,
    plan_option_add,
    plan_propose,
)
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory

MOSCOW = ZoneInfo("Europe/Moscow")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"Service {n}")
    specialty = factory.SubFactory(SpecialtyFactory)
    duration_minutes = 30
    price = Decimal("3000.00")
    preparation = "Come 10 minutes early."


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    branch = factory.SubFactory(BranchFactory)
    weekday = 0
    starts = time(9, 0)
    ends = time(18, 0)


def full_week(doctor, branch, starts=time(8, 0), ends=time(20, 0)):
    """Working hours every day of the week, so tests don't depend on today's weekday."""
    return [
        WorkingHoursFactory(doctor=doctor, branch=branch, weekday=day, starts=starts, ends=ends)
        for day in range(7)
    ]


class TreatmentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentPlan

    patient = factory.SubFactory(PatientFactory)
    title = "Orthodontic treatment"
    branch = factory.SubFactory(BranchFactory)


class PlanOptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanOption

    plan = factory.SubFactory(TreatmentPlanFactory)
    title = factory.Sequence(lambda n: f"Option {n}")
    cost_estimate = Decimal("150000.00")
    duration_weeks = 52
    expected_result = "Even teeth and a correct bite."


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    option = factory.SubFactory(PlanOptionFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Stage {n}")
    purpose = "Check progress and adjust the braces."
    specialty = factory.SubFactory(SpecialtyFactory)


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    patient = factory.SubFactory(PatientFactory)
    branch = factory.SubFactory(BranchFactory)
    service = factory.SubFactory(ServiceFactory)
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    )
    ends_at = factory.LazyAttribute(lambda v: v.starts_at + timedelta(minutes=30))


class HandoffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Handoff

    patient = factory.SubFactory(PatientFactory)
    plan = None
    branch = factory.LazyAttribute(
        lambda o: o.plan.branch if o.plan is not None else o.patient.home_branch
    )
    to_specialty = factory.SubFactory(SpecialtyFactory)
    reason = "Needs an orthopedist's opinion."
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=7))


def clinic_visit(c, start, *, minutes: int = 30, **fields):
    """A visit of the ``clinic`` fixture's patient with its doctor and service, at ``start``."""
    fields.setdefault("patient", c.patient)
    fields.setdefault("doctor", c.doctor)
    fields.setdefault("branch", c.branch)
    fields.setdefault("service", c.service)
    return VisitFactory(starts_at=start, ends_at=start + timedelta(minutes=minutes), **fields)


# --- plans and visits of the shared ``clinic`` fixture ---------------------------------


def tomorrow_at(hour):
    return datetime.combine(timezone.localdate() + timedelta(days=1), time(hour), tzinfo=MOSCOW)


def accepted_plan(c, stages=3):
    plan = plan_create(
        actor=c.doctor,
        patient=c.patient,
        title="Braces",
        branch=c.branch,
        lead_doctor=c.doctor,
        curator=c.curator,
    )
    option = plan_option_add(
        actor=c.doctor,
        plan=plan,
        title="Metal",
        cost_estimate=Decimal("1000"),
        stages=[
            StageSpec(title=f"Step {i}", specialty=c.ortho, service=c.service, offset_days=0)
            for i in range(stages)
        ],
    )
    plan_propose(actor=c.doctor, plan=plan)
    plan_choose_option(actor=c.doctor, plan=plan, option=option)
    return plan, list(option.stages.order_by("position"))


def arrived_visit(c, stage=None):
    start = timezone.now() - timedelta(minutes=20)
    return VisitFactory(
        patient=c.patient,
        doctor=c.doctor,
        branch=c.branch,
        service=c.service,
        stage=stage,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        status=Visit.Status.ARRIVED,
    )


# --- the small clinic of the scheduling tests (the ``scheduling_clinic`` fixture) --------
# A branch, a specialty with a 30-minute service, doctors with hours every day 08:00–20:00
# (branch time), an administrator and a patient.

ZONE = "Europe/Moscow"


@dataclass
class Clinic:
    branch: object
    specialty: object
    service: object
    doctor: object
    admin: object
    patient: object

    def at(self, day: date, hhmm: str) -> datetime:
        return at(self.branch, day, hhmm)


def at(branch, day: date, hhmm: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(branch.time_zone))


def future_day(days: int = 3) -> date:
    return timezone.localdate(timezone.now(), ZoneInfo(ZONE)) + timedelta(days=days)


def next_weekday(weekday: int, *, after: int = 1) -> date:
    """The first ``weekday`` (0 = Monday) at least ``after`` days from today."""
    day = future_day(after)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def make_doctor(make_staff, *, branch, specialty, last_name: str = "Petrova", hours=True):
    doctor = make_staff(Role.DOCTOR, branch=branch)
    doctor.first_name, doctor.last_name = "Anna", last_name
    doctor.save(update_fields=["first_name", "last_name"])
    doctor.profile.specialty = specialty
    doctor.profile.branch = branch
    doctor.profile.save(update_fields=["specialty", "branch"])
    if hours:
        full_week(doctor, branch)
    return doctor


def make_clinic(make_staff, *, time_zone: str = ZONE, hours: bool = True) -> Clinic:
    branch = BranchFactory(time_zone=time_zone)
    specialty = SpecialtyFactory()
    service = ServiceFactory(specialty=specialty, duration_minutes=30, name="Consultation")
    doctor = make_doctor(make_staff, branch=branch, specialty=specialty, hours=hours)
    admin = make_staff(Role.ADMINISTRATOR, branch=branch)
    patient = PatientFactory(last_name="Ivanov", first_name="Pavel", home_branch=branch)
    return Clinic(branch, specialty, service, doctor, admin, patient)


# --- checklists -------------------------------------------------------------------------

READINESS = ["Reminder confirmed", "Preparation instructions sent", "Card and X-rays ready"]
COMMUNICATION = [
    "Introduced myself and explained the plan for today",
    "Explained the result in plain words and what comes next",
    "Asked whether there are questions",
    "Agreed the next step",
]


def make_template(name, audience, texts, services=()):
    template = ChecklistTemplate.objects.create(name=name, audience=audience)
    template.services.set(services)
    for position, text in enumerate(texts, start=1):
        ChecklistItem.objects.create(template=template, position=position, text=text)
    return template


def items_of(template):
    return list(template.items.order_by("position"))


def moscow(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MOSCOW)
