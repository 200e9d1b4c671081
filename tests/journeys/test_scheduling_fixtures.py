"""A small clinic for the scheduling tests: a branch, a specialty with a 30-minute service,
doctors with hours every day 08:00–20:00 (branch time), an administrator and a patient.
Helpers only; the tests live in the other ``test_scheduling*`` modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from clinic_crm.staff.roles import Role
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import ServiceFactory, full_week

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
