"""The one access rule for patient data (patients.access), case by case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from clinic_crm.staff.roles import Role
from journeys.models import Handoff, Task, WaitlistEntry
from patients import access
from patients.models import Patient
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import (
    HandoffFactory,
    ServiceFactory,
    TreatmentPlanFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_branches(make_staff):
    class World:
        pass

    w = World()
    w.north, w.south = BranchFactory(name="North"), BranchFactory(name="South")
    w.north_patient = PatientFactory(last_name="Северова", home_branch=w.north)
    w.south_patient = PatientFactory(last_name="Южная", home_branch=w.south)
    w.unattached = PatientFactory(last_name="Ничейная", home_branch=None)
    w.doctor = make_staff(Role.DOCTOR, branch=w.north)
    w.curator = make_staff(Role.CURATOR, branch=w.north)
    w.admin = make_staff(Role.ADMINISTRATOR, branch=w.north)
    w.service = ServiceFactory()
    w.colleague = make_staff(Role.DOCTOR, branch=BranchFactory(name="West"))
    return w


_hours = iter(range(1, 10_000))


def visit(**fields):
    """A visit at a time of its own (a doctor can't be double-booked)."""
    start = (timezone.now() + timedelta(days=2, hours=next(_hours))).replace(
        minute=0, second=0, microsecond=0
    )
    return VisitFactory(starts_at=start, ends_at=start + timedelta(minutes=30), **fields)


def visible(user) -> set[int]:
    return set(access.patients_visible(user).values_list("pk", flat=True))


def test_staff_see_the_patients_registered_at_their_branch_only(two_branches):
    w = two_branches
    for user in (w.doctor, w.curator, w.admin):
        assert visible(user) == {w.north_patient.pk}, user.role


def test_a_patient_cared_for_at_the_branch_is_the_branch_s_patient(two_branches):
    """Registered in the south but with a plan, a visit, a handoff or a place on the
    waitlist in the north: the north's staff see them."""
    w = two_branches
    cases = []
    for make in (
        lambda p: TreatmentPlanFactory(patient=p, branch=w.north, lead_doctor=w.colleague),
        lambda p: visit(patient=p, branch=w.north, service=w.service, doctor=w.colleague),
        lambda p: HandoffFactory(patient=p, branch=w.north, from_doctor=w.colleague),
        lambda p: WaitlistEntry.objects.create(
            patient=p, branch=w.north, specialty=w.service.specialty
        ),
    ):
        patient = PatientFactory(home_branch=w.south)
        make(patient)
        cases.append(patient.pk)
    assert visible(w.curator) == {w.north_patient.pk, *cases}
    assert visible(w.admin) == {w.north_patient.pk, *cases}


def test_doctors_and_curators_see_patients_in_their_care_in_any_branch(two_branches, make_staff):
    w = two_branches
    elsewhere = BranchFactory(name="East")
    # Each relationship, alone, on a patient of another branch cared for in another one.
    by_visit = PatientFactory(home_branch=w.south)
    visit(patient=by_visit, doctor=w.doctor, branch=elsewhere, service=w.service)
    led = PatientFactory(home_branch=w.south)
    TreatmentPlanFactory(patient=led, branch=elsewhere, lead_doctor=w.doctor)
    curated = PatientFactory(home_branch=w.south)
    TreatmentPlanFactory(
        patient=curated, branch=elsewhere, lead_doctor=w.colleague, curator=w.curator
    )
    handed = PatientFactory(home_branch=w.south)
    HandoffFactory(patient=handed, branch=elsewhere, to_doctor=w.doctor, from_doctor=w.colleague)
    handoff_curated = PatientFactory(home_branch=w.south)
    HandoffFactory(
        patient=handoff_curated, branch=elsewhere, curator=w.curator, from_doctor=w.colleague
    )
    tasked = PatientFactory(home_branch=w.south)
    Task.objects.create(
        kind=Task.Kind.OTHER,
        patient=tasked,
        assignee=w.curator,
        cause_key="test:1",
        title="Call",
        due_at=timezone.now() + timedelta(days=1),
        branch=elsewhere,
    )
    assert visible(w.doctor) == {w.north_patient.pk, by_visit.pk, led.pk, handed.pk}
    assert visible(w.curator) == {
        w.north_patient.pk,
        curated.pk,
        handoff_curated.pk,
        tasked.pk,
    }
    # Administrators have no personal care: the front desk of the north sees none.
    assert visible(w.admin) == {w.north_patient.pk}
    # A colleague of the same role elsewhere sees none of them.
    stranger = make_staff(Role.DOCTOR, branch=w.south)
    # ...but the staff of the branch where the patient was seen do.
    assert by_visit.pk in visible(make_staff(Role.DOCTOR, branch=elsewhere))
    assert led.pk in visible(stranger)  # led's home branch is the south: a south patient
    assert w.north_patient.pk not in visible(stranger)


def test_a_doctor_works_at_every_branch_where_they_have_hours(two_branches):
    from tests.journeys.factories import full_week

    w = two_branches
    full_week(w.doctor, w.south)
    assert visible(w.doctor) == {w.north_patient.pk, w.south_patient.pk}


def test_managers_read_every_card_and_all_branch_administrators_work_every_branch(
    two_branches, make_staff
):
    w = two_branches
    everyone = {w.north_patient.pk, w.south_patient.pk, w.unattached.pk}
    assert visible(make_staff(Role.MANAGER, branch=w.north)) == everyone
    assert access.scope_of(make_staff(Role.MANAGER)).read_only
    call_centre = make_staff(Role.ADMINISTRATOR, branch=None, all_branches=True)
    assert visible(call_centre) == everyone
    # The flag is for administrators: a curator with it still works their branch.
    assert visible(make_staff(Role.CURATOR, branch=w.north, all_branches=True)) == {
        w.north_patient.pk
    }


def test_staff_without_a_branch_or_a_role_see_nothing(two_branches, make_staff):
    assert visible(make_staff(Role.CURATOR, branch=None)) == set()
    no_role = make_staff(Role.DOCTOR)
    no_role.groups.clear()
    no_role = type(no_role).objects.get(pk=no_role.pk)
    assert visible(no_role) == set()


def test_patient_or_404_says_nothing_about_cards_one_may_not_see(two_branches):
    w = two_branches
    assert access.patient_or_404(w.doctor, w.north_patient.pk) == w.north_patient
    for patient_id in (w.south_patient.pk, 10**9, "x", 2**70):
        with pytest.raises(Http404):
            access.patient_or_404(w.doctor, patient_id)


def test_journey_rows_of_unseen_patients_are_cut(two_branches):
    w = two_branches
    mine = visit(patient=w.north_patient, branch=w.north, service=w.service, doctor=w.colleague)
    theirs = visit(patient=w.south_patient, branch=w.south, service=w.service, doctor=w.colleague)
    from journeys.models import Visit

    rows = set(access.restrict(w.curator, Visit.objects.all()).values_list("pk", flat=True))
    assert rows == {mine.pk}
    assert theirs.pk not in rows


def test_a_handoff_s_from_doctor_keeps_the_patient_in_their_care(two_branches):
    w = two_branches
    patient = PatientFactory(home_branch=w.south)
    HandoffFactory(
        patient=patient,
        branch=w.south,
        from_doctor=w.doctor,
        to_specialty=SpecialtyFactory(),
        state=Handoff.State.OPEN,
    )
    assert patient.pk in visible(w.doctor)


def test_the_care_kept_on_cards_is_what_a_rebuild_from_the_rows_gives(two_branches):
    """The triggers keep each card's care as the rows make it; after a load that skipped
    them (journeys.bulk_load), journeys_care_rebuild() puts it right."""
    from django.db import connection

    from journeys.access import care_rebuild

    w = two_branches
    visit(patient=w.south_patient, doctor=w.doctor, branch=w.north, service=w.service)
    TreatmentPlanFactory(
        patient=w.unattached, branch=w.south, lead_doctor=w.colleague, curator=w.curator
    )
    kept = {p.pk: (p.care_branch_ids, p.care_staff_ids) for p in Patient.objects.all()}
    assert kept[w.south_patient.pk] == ([w.north.pk], [w.doctor.pk])
    assert care_rebuild() == 0  # nothing to correct: the triggers kept it
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL journeys.bulk_load = 'on'")
        quiet = visit(
            patient=w.north_patient, doctor=w.colleague, branch=w.south, service=w.service
        )
        cursor.execute("SET LOCAL journeys.bulk_load = 'off'")
    assert w.north_patient.pk not in visible(quiet.doctor)
    assert care_rebuild() == 1
    assert w.north_patient.pk in visible(quiet.doctor)
