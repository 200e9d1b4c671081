"""Reads for the calendar and the booking forms.

The day and week calendars cost three queries (working hours, days off, visits) however
many doctors and visits the branch has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from clinic_crm.catalogue.models import Branch, Service
from clinic_crm.staff.roles import Role
from journeys.models import ScheduleException, Visit, WorkingHours
from journeys.services.availability import local_datetime

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


@dataclass
class DoctorDay:
    """One doctor on one day at one branch."""

    doctor: User
    day: date
    hours: list[WorkingHours] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    day_off: ScheduleException | None = None

    @property
    def works(self) -> bool:
        return bool(self.hours) and self.day_off is None


@dataclass
class CalendarDay:
    branch: Branch
    day: date
    zone: ZoneInfo
    columns: list[DoctorDay]


@dataclass
class WeekRow:
    doctor: User
    cells: list[DoctorDay]


@dataclass
class CalendarWeek:
    branch: Branch
    days: list[date]
    zone: ZoneInfo
    rows: list[WeekRow]


def _doctor_sort_key(doctor: User) -> tuple[str, str, int]:
    return (doctor.last_name.lower(), doctor.first_name.lower(), doctor.pk)


def _schedule(
    *, branch: Branch, days: list[date], doctor: User | None = None
) -> tuple[dict[int, User], dict[tuple[int, date], DoctorDay]]:
    """Hours, days off and non-cancelled visits at ``branch`` on ``days``, per
    (doctor, day). Three queries."""
    weekdays = {d.weekday() for d in days}
    hours = WorkingHours.objects.filter(
        branch=branch, weekday__in=weekdays, doctor__is_active=True
    ).select_related("doctor")
    first, last = min(days), max(days)
    visits = (
        Visit.objects.filter(
            branch=branch,
            starts_at__gte=local_datetime(branch, first, time.min),
            starts_at__lt=local_datetime(branch, last + timedelta(days=1), time.min),
        )
        .exclude(status__in=Visit.CANCELLED)
        .select_related("patient", "service", "doctor")
        # A day of ten doctors is a few hundred visits: load what the grids print, not
        # whole patient cards.
        .only(
            "patient_id",
            "doctor_id",
            "service_id",
            "starts_at",
            "ends_at",
            "status",
            "patient__last_name",
            "patient__first_name",
            "patient__middle_name",
            "service__name",
            "doctor__email",
            "doctor__first_name",
            "doctor__last_name",
            "doctor__is_active",
        )
        .order_by("starts_at")
    )
    if doctor is not None:
        hours = hours.filter(doctor=doctor)
        visits = visits.filter(doctor=doctor)

    doctors: dict[int, User] = {}
    cells: dict[tuple[int, date], DoctorDay] = {}

    def cell(doc: User, day: date) -> DoctorDay:
        doctors.setdefault(doc.pk, doc)
        key = (doc.pk, day)
        if key not in cells:
            cells[key] = DoctorDay(doctor=doctors[doc.pk], day=day)
        return cells[key]

    for block in hours.order_by("starts"):
        for day in days:
            if day.weekday() == block.weekday:
                cell(block.doctor, day).hours.append(block)
    zone = branch.zone
    for visit in visits:
        cell(visit.doctor, timezone.localtime(visit.starts_at, zone).date()).visits.append(visit)
    if doctors:
        for exception in ScheduleException.objects.filter(
            doctor_id__in=doctors, starts_on__lte=last, ends_on__gte=first
        ):
            for day in days:
                key = (exception.doctor_id, day)
                if exception.starts_on <= day <= exception.ends_on and key in cells:
                    cells[key].day_off = exception
    return doctors, cells


def calendar_day(*, branch: Branch, day: date) -> CalendarDay:
    """Doctors working at ``branch`` on ``day`` (or having visits there), each with the
    hours, the day off if any, and the visits (patient and service loaded)."""
    doctors, cells = _schedule(branch=branch, days=[day])
    columns = [cells[(doc.pk, day)] for doc in sorted(doctors.values(), key=_doctor_sort_key)]
    return CalendarDay(branch=branch, day=day, zone=branch.zone, columns=columns)


def calendar_week(*, branch: Branch, week_start: date, doctor: User | None = None) -> CalendarWeek:
    """Seven days from ``week_start``: one row per doctor, one cell per day."""
    days = [week_start + timedelta(days=n) for n in range(7)]
    doctors, cells = _schedule(branch=branch, days=days, doctor=doctor)
    rows = [
        WeekRow(
            doctor=doc,
            cells=[cells.get((doc.pk, day)) or DoctorDay(doctor=doc, day=day) for day in days],
        )
        for doc in sorted(doctors.values(), key=_doctor_sort_key)
    ]
    return CalendarWeek(branch=branch, days=days, zone=branch.zone, rows=rows)


def doctors_at(*, branch: Branch | None = None) -> QuerySet[User]:
    """Active doctors, those with working hours at ``branch`` when given."""
    doctors = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.DOCTOR)
        .select_related("profile__specialty")
        .order_by("last_name", "first_name", "id")
    )
    if branch is not None:
        doctors = doctors.filter(pk__in=WorkingHours.objects.filter(branch=branch).values("doctor"))
    return doctors.distinct()


def services_bookable() -> QuerySet[Service]:
    return Service.objects.filter(is_active=True).select_related("specialty")


def visits_for_panel() -> QuerySet[Visit]:
    """Visits with what the calendar's visit panel shows."""
    return Visit.objects.select_related(
        "patient", "doctor", "branch", "service", "stage", "handoff", "booked_by"
    )


def local_now(branch: Branch) -> datetime:
    return timezone.localtime(timezone.now(), branch.zone)
