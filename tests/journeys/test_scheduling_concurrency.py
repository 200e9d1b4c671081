"""Two administrators at once: two bookings of the same doctor and time, two clicks on the
same status step. Each thread has its own database connection and transaction, so the
outcome is decided by PostgreSQL (the exclusion constraint, the conditional UPDATE)."""

from __future__ import annotations

import threading

import pytest

from journeys.errors import JourneyError
from journeys.models import JourneyEvent, Visit
from journeys.services import availability
from journeys.services import visits as visit_services
from journeys.services.visit_status import visit_confirm
from journeys.services.visits import visit_book
from tests.factories import PatientFactory
from tests.helpers import run_together
from tests.journeys.factories import future_day, make_clinic

pytestmark = pytest.mark.django_db(transaction=True)


def _booking(clinic, patient, when):
    return lambda: visit_book(
        actor=clinic.admin,
        patient=patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=when,
    )


def _outcome(results):
    visits = [r for r in results if isinstance(r, Visit)]
    errors = [r for r in results if isinstance(r, JourneyError)]
    unexpected = [r for r in results if isinstance(r, Exception) and r not in errors]
    assert not unexpected, unexpected
    return visits, errors


def test_two_concurrent_bookings_of_the_same_slot_one_wins(make_staff):
    clinic = make_clinic(make_staff)
    when = clinic.at(future_day(), "10:00")
    first, second = PatientFactory(), PatientFactory()

    visits, errors = _outcome(
        run_together(_booking(clinic, first, when), _booking(clinic, second, when))
    )

    assert len(visits) == 1
    assert len(errors) == 1
    assert "10:00–10:30" in str(errors[0])  # names the clashing visit (in any language)
    assert Visit.objects.count() == 1
    assert JourneyEvent.objects.filter(kind=JourneyEvent.Kind.VISIT_BOOKED).count() == 1


def test_when_both_bookings_pass_the_check_the_constraint_refuses_one(make_staff, monkeypatch):
    """Forces the race: both threads finish the friendly check before either inserts, so
    only the exclusion constraint stands between them."""
    clinic = make_clinic(make_staff)
    when = clinic.at(future_day(), "10:00")
    both_checked = threading.Barrier(2, timeout=15)
    real_check = visit_services.slot_check

    def check_then_wait(**kwargs):
        real_check(**kwargs)
        both_checked.wait()

    monkeypatch.setattr(visit_services, "slot_check", check_then_wait)
    violations = []
    real_is_overlap = availability._is_overlap_violation

    def spy(error):
        violations.append(real_is_overlap(error))
        return violations[-1]

    monkeypatch.setattr(availability, "_is_overlap_violation", spy)

    visits, errors = _outcome(
        run_together(
            _booking(clinic, PatientFactory(), when), _booking(clinic, PatientFactory(), when)
        )
    )

    assert len(visits) == 1
    assert len(errors) == 1
    assert "10:00–10:30" in str(errors[0])  # names the clashing visit (in any language)
    assert violations == [True]  # refused by PostgreSQL, not by the Python check
    assert Visit.objects.count() == 1
    assert JourneyEvent.objects.count() == 1


def test_two_concurrent_confirmations_only_one_lands(make_staff):
    clinic = make_clinic(make_staff)
    visit = visit_book(
        actor=clinic.admin,
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=clinic.at(future_day(), "10:00"),
    )
    tabs = [Visit.objects.get(pk=visit.pk), Visit.objects.get(pk=visit.pk)]

    results = run_together(
        *(lambda tab=tab: visit_confirm(actor=clinic.admin, visit=tab) for tab in tabs)
    )

    visits, errors = _outcome(results)
    assert len(visits) == 1
    assert len(errors) == 1
    assert JourneyEvent.objects.filter(kind=JourneyEvent.Kind.VISIT_STATUS).count() == 1
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CONFIRMED
