"""A world for access tests: a patient of branch A, staff of branch B with no relation
to them, and staff of branch C in their care (registered as a pytest plugin by
tests/conftest.py, so any test can ask for ``world``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic_crm.messaging.models import Message
from clinic_crm.staff.roles import Role
from feedback.models import ReasonCorrection, ReasonTag, Response, Survey
from journeys.models import (
    ChecklistCompletion,
    ChecklistItem,
    ChecklistTemplate,
    Handoff,
    JourneyEvent,
    PlanOption,
    Stage,
    Task,
    TreatmentPlan,
    Visit,
    WaitlistEntry,
)
from patients.models import ConsentRecord, FamilyGroup, Patient
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import (
    HandoffFactory,
    PlanOptionFactory,
    ServiceFactory,
    StageFactory,
    TreatmentPlanFactory,
    VisitFactory,
    full_week,
)

# Tables whose rows a request must not change when it is refused.
WATCHED = (
    Patient,
    ConsentRecord,
    FamilyGroup,
    TreatmentPlan,
    PlanOption,
    Stage,
    Visit,
    Handoff,
    Task,
    JourneyEvent,
    ChecklistCompletion,
    Message,
    WaitlistEntry,
    Response,
    ReasonCorrection,
)


def fingerprint() -> dict[str, list[dict]]:
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in WATCHED}


class World:
    """Branch A's patient ``p``; attackers of branch B; carers of branch C."""


@pytest.fixture
def world(make_staff):
    w = World()
    w.a, w.b, w.c = BranchFactory(name="A"), BranchFactory(name="B"), BranchFactory(name="C")
    specialty = SpecialtyFactory(name="Orthodontics")
    w.service = ServiceFactory(specialty=specialty, duration_minutes=30)
    # Carers in branch C.
    w.doctor_c = make_staff(Role.DOCTOR, branch=w.c)
    w.other_doctor_c = make_staff(Role.DOCTOR, branch=w.c)
    w.curator_c = make_staff(Role.CURATOR, branch=w.c)
    w.admin_c = make_staff(Role.ADMINISTRATOR, branch=w.c)
    # The patient's home branch's curator: a colleague a carer may hand a task to.
    w.curator_a = make_staff(Role.CURATOR, branch=w.a)
    full_week(w.doctor_c, w.c)
    # Attackers in branch B: the same roles, no relationship at all.
    w.attackers = {
        role: make_staff(role, branch=w.b)
        for role in (Role.DOCTOR, Role.CURATOR, Role.ADMINISTRATOR)
    }
    full_week(w.attackers[Role.DOCTOR], w.b)

    w.p = PatientFactory(last_name="Секретова", phone="+79990001122", home_branch=w.a)
    w.relative = PatientFactory(last_name="Роднова", home_branch=w.a)
    w.family = FamilyGroup.objects.create(name="Секретовы")
    Patient.objects.filter(pk__in=[w.p.pk, w.relative.pk]).update(family_group=w.family)
    w.p.refresh_from_db()
    w.other_card = PatientFactory(last_name="Другова", home_branch=w.c)  # merge target etc.

    # The journey: a plan in progress, a draft and a proposed one, all led from C.
    w.plan = TreatmentPlanFactory(
        patient=w.p,
        branch=w.a,
        lead_doctor=w.doctor_c,
        curator=w.curator_c,
        status=TreatmentPlan.Status.IN_PROGRESS,
    )
    option = PlanOptionFactory(plan=w.plan)
    StageFactory(option=option, specialty=specialty)
    TreatmentPlan.objects.filter(pk=w.plan.pk).update(chosen_option=option)
    w.draft = TreatmentPlanFactory(
        patient=w.p, branch=w.a, lead_doctor=w.doctor_c, status=TreatmentPlan.Status.DRAFT
    )
    PlanOptionFactory(plan=w.draft)
    w.proposed = TreatmentPlanFactory(
        patient=w.p, branch=w.a, lead_doctor=w.doctor_c, status=TreatmentPlan.Status.PROPOSED
    )
    w.proposed_option = PlanOptionFactory(plan=w.proposed)
    w.handoff = HandoffFactory(
        patient=w.p, plan=w.plan, branch=w.a, from_doctor=w.doctor_c, curator=w.curator_c
    )
    now = timezone.now()
    # Today's visit with the carer doctor at A (arrived: it can be completed) and a
    # future one at C (the front desk of C moves, cancels, confirms it).
    w.visit = VisitFactory(
        patient=w.p,
        doctor=w.doctor_c,
        branch=w.a,
        service=w.service,
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(minutes=20),
        status=Visit.Status.ARRIVED,
    )
    tomorrow = (now + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    w.visit_c = VisitFactory(
        patient=w.p,
        doctor=w.doctor_c,
        branch=w.c,
        service=w.service,
        starts_at=tomorrow,
        ends_at=tomorrow + timedelta(minutes=30),
    )
    w.task = Task.objects.create(
        kind=Task.Kind.STALLED_JOURNEY,
        patient=w.p,
        plan=w.plan,
        assignee=w.curator_c,
        cause_key=f"test:{w.p.pk}",
        title="Call the patient",
        due_at=now + timedelta(hours=4),
        branch=w.a,
    )
    template = ChecklistTemplate.objects.create(
        name="Communication", audience=ChecklistTemplate.Audience.DOCTOR
    )
    w.item = ChecklistItem.objects.create(template=template, text="Explained the plan")
    w.message = Message.objects.create(
        patient=w.p,
        kind="reminder",
        channel="sms",
        language="ru",
        body="Напоминание",
        scheduled_for=now,
        due_at=now,
        status=Message.Status.FAILED,
        idempotency_key=f"test:{w.p.pk}",
    )
    # An answer about the visit with the carer doctor, whose reasons staff may correct.
    survey, _created = Survey.objects.get_or_create(
        kind=Survey.Kind.VISIT, is_active=True, defaults={"name": "После визита"}
    )
    for key, name in (("waiting", "Долгое ожидание"), ("price", "Цена и оплата")):
        ReasonTag.objects.get_or_create(key=key, defaults={"name": name, "keywords": key})
    w.response = Response.objects.create(
        survey=survey,
        patient=w.p,
        day=now.date(),
        branch=w.a,
        doctor=w.doctor_c,
        channel="sms",
        submitted_at=now,
        nps_score=4,
        comment="Долго ждала",
        tagged_reasons=["waiting"],
    )
    w.response.reasons.set(ReasonTag.objects.filter(key="waiting"))
    return w
