from datetime import time, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from clinic_crm.catalogue.models import Service
from journeys.models import Handoff, PlanOption, Stage, TreatmentPlan, Visit, WorkingHours
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory


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
