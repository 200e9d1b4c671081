"""Free slots: the times a service can be booked with a doctor at a branch.

Every read here costs three queries — working hours, days off, busy visits — however many
doctors and days it covers: the whole range is read at once and the slots are laid out
in Python. A slot is free when it lies inside one block of the doctor's hours at the
branch, on a day without a schedule exception, starts in the future and overlaps no
visit of the doctor that is not cancelled (the same rules ``visit_book`` enforces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from clinic_crm.catalogue.models import Branch, Service, Specialty
from clinic_crm.staff.roles import Role
from journeys.models import ScheduleException, Visit, WorkingHours
from journeys.services.availability import local_datetime

if TYPE_CHECKING:
    from clinic_crm.staff.models import User

STEP_MINUTES = 15
# The slot finder searches the next two weeks unless told otherwise, and never more than
# a month at once: a month of one specialty is a page a person can still read.
DEFAULT_SEARCH_DAYS = 14
MAX_SEARCH_DAYS = 31
# Parts of the day, as [from, before) wall-clock times at the branch.
DAY_PARTS: dict[str, tuple[time, time | None]] = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), None),
}


@dataclass(frozen=True)
class Slot:
    doctor: User
    starts_at: datetime
    ends_at: datetime


@dataclass
class _Schedule:
    """What the three queries read, for laying out slots on any of the days."""

    doctors: dict[int, User]
    hours: list[WorkingHours]
    days_off: dict[int, list[tuple[date, date]]]
    # Busy times per (doctor, wall-clock day at the branch), so that a slot is checked
    # against that day's visits only.
    busy: dict[tuple[int, date], list[tuple[datetime, datetime]]]

    def is_day_off(self, doctor_id: int, day: date) -> bool:
        return any(a <= day <= b for a, b in self.days_off.get(doctor_id, ()))


def _read_schedule(
    *,
    branch: Branch,
    service: Service,
    first: date,
    last: date,
    doctor: User | None = None,
    specialty: Specialty | None = None,
    also_doctor: User | None = None,
    ignore_visit_id: int | None = None,
) -> _Schedule:
    """Hours of the candidate doctors — ``doctor``, else those of ``specialty`` (default:
    the service's) plus ``also_doctor`` — with their days off and busy times between
    ``first`` and ``last``. Three queries, or one when nobody works then."""
    weekdays = {
        (first + timedelta(days=n)).weekday() for n in range(min((last - first).days, 6) + 1)
    }
    hours = WorkingHours.objects.filter(
        branch=branch,
        weekday__in=weekdays,
        doctor__is_active=True,
        doctor__groups__name=Role.DOCTOR,
    ).select_related("doctor__profile__specialty")
    if doctor is not None:
        hours = hours.filter(doctor=doctor)
    else:
        of_specialty = Q(doctor__profile__specialty=specialty or service.specialty)
        hours = hours.filter(
            of_specialty | Q(doctor=also_doctor) if also_doctor is not None else of_specialty
        )
    blocks = list(hours.order_by("doctor__last_name", "doctor__first_name", "doctor_id", "starts"))
    schedule = _Schedule(
        doctors={block.doctor_id: block.doctor for block in blocks},
        hours=blocks,
        days_off={},
        busy={},
    )
    if not blocks:
        return schedule
    for doctor_id, starts_on, ends_on in ScheduleException.objects.filter(
        doctor_id__in=schedule.doctors, starts_on__lte=last, ends_on__gte=first
    ).values_list("doctor_id", "starts_on", "ends_on"):
        schedule.days_off.setdefault(doctor_id, []).append((starts_on, ends_on))
    range_start = local_datetime(branch, first, time.min)
    visits = Visit.objects.filter(
        doctor_id__in=schedule.doctors,
        # A lower bound on the start lets the (doctor, start) index bound the read: without
        # it every past visit of the doctors was read (170,000 rows for 10 doctors to keep
        # 170). A visit lasts at most a service's 600 minutes (Service's constraint), so
        # one that started over a day before the range can't reach into it.
        starts_at__gte=range_start - timedelta(days=1),
        starts_at__lt=local_datetime(branch, last + timedelta(days=1), time.min),
        ends_at__gt=range_start,
    ).exclude(status__in=Visit.CANCELLED)
    if ignore_visit_id is not None:
        visits = visits.exclude(pk=ignore_visit_id)
    zone = branch.zone
    for doctor_id, starts_at, ends_at in visits.values_list("doctor_id", "starts_at", "ends_at"):
        day = timezone.localtime(starts_at, zone).date()
        while day <= timezone.localtime(ends_at, zone).date():
            schedule.busy.setdefault((doctor_id, day), []).append((starts_at, ends_at))
            day += timedelta(days=1)
    return schedule


def _day_slots(
    schedule: _Schedule,
    *,
    branch: Branch,
    day: date,
    duration: timedelta,
    step: timedelta,
    now: datetime,
    starts_from: time | None = None,
    starts_before: time | None = None,
) -> list[Slot]:
    """Every free start on ``day`` (optionally only those whose wall-clock start lies in
    [``starts_from``, ``starts_before``)), earliest first, then by doctor."""
    slots: list[Slot] = []
    for block in schedule.hours:
        if block.weekday != day.weekday() or schedule.is_day_off(block.doctor_id, day):
            continue
        start = local_datetime(branch, day, block.starts)
        block_end = local_datetime(branch, day, block.ends)
        # A doctor's visits never overlap (the visit_doctor_no_overlap constraint), so
        # sorted by start they are sorted by end too: one pass over them as the slots
        # advance, not every visit for every slot (141,000 comparisons a 14-day search).
        taken = sorted(schedule.busy.get((block.doctor_id, day), ()))
        doctor = schedule.doctors[block.doctor_id]
        nxt = 0
        while start + duration <= block_end:
            end = start + duration
            while nxt < len(taken) and taken[nxt][1] <= start:
                nxt += 1  # over before this slot starts, so before every later one
            wall = start.time()
            if (
                start >= now
                and (starts_from is None or wall >= starts_from)
                and (starts_before is None or wall < starts_before)
                and not (nxt < len(taken) and taken[nxt][0] < end)
            ):
                slots.append(Slot(doctor, start, end))
            start += step
    slots.sort(key=lambda s: (s.starts_at, str(s.doctor)))
    return slots


def _slots_for_days(
    *,
    branch: Branch,
    service: Service,
    days: list[date],
    doctor: User | None = None,
    specialty: Specialty | None = None,
    step_minutes: int = STEP_MINUTES,
    limit: int = 50,
    ignore_visit_id: int | None = None,
) -> list[Slot]:
    """Free slots on ``days``, earliest first, at most ``limit``."""
    if not days or limit <= 0:
        return []
    schedule = _read_schedule(
        branch=branch,
        service=service,
        first=min(days),
        last=max(days),
        doctor=doctor,
        specialty=specialty,
        ignore_visit_id=ignore_visit_id,
    )
    if not schedule.hours:
        return []
    now = timezone.now()
    duration = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=max(step_minutes, 1))
    slots: list[Slot] = []
    for day in sorted(days):
        slots.extend(
            _day_slots(schedule, branch=branch, day=day, duration=duration, step=step, now=now)
        )
        if len(slots) >= limit:
            break
    return slots[:limit]


def free_slots(
    *,
    branch: Branch,
    service: Service,
    day: date,
    doctor: User | None = None,
    specialty: Specialty | None = None,
    step_minutes: int = STEP_MINUTES,
    limit: int = 50,
    ignore_visit_id: int | None = None,
) -> list[Slot]:
    """Free starts for ``service`` on ``day`` at ``branch``, earliest first: with
    ``doctor``, or any doctor of ``specialty`` (default: the service's specialty). At most
    three queries, whatever the number of doctors. ``ignore_visit_id`` counts that visit's
    time as free (the times a visit can be moved to)."""
    return _slots_for_days(
        branch=branch,
        service=service,
        days=[day],
        doctor=doctor,
        specialty=specialty,
        step_minutes=step_minutes,
        limit=limit,
        ignore_visit_id=ignore_visit_id,
    )


def next_free_slots(
    *,
    branch: Branch,
    service: Service,
    start_day: date,
    doctor: User | None = None,
    specialty: Specialty | None = None,
    days: int = DEFAULT_SEARCH_DAYS,
    step_minutes: int = STEP_MINUTES,
    limit: int = 50,
) -> list[Slot]:
    """Free slots from ``start_day`` on, scanning up to ``days`` days forward, earliest
    first. Still three queries: the whole range is read at once."""
    return _slots_for_days(
        branch=branch,
        service=service,
        days=[start_day + timedelta(days=n) for n in range(max(days, 1))],
        doctor=doctor,
        specialty=specialty,
        step_minutes=step_minutes,
        limit=limit,
    )


# --- the slot finder ---------------------------------------------------------------------


@dataclass
class DoctorSlots:
    doctor: User
    slots: list[Slot]


@dataclass
class SlotDay:
    """One day of the range: the free slots of each doctor who has any, and how many of
    the candidate doctors work that day at all (0: nobody works; more: fully booked)."""

    day: date
    doctors: list[DoctorSlots] = field(default_factory=list)
    working: int = 0

    @property
    def count(self) -> int:
        return sum(len(d.slots) for d in self.doctors)


@dataclass
class NextAvailable:
    doctor: User
    slot: Slot | None


@dataclass
class SlotSearch:
    first_day: date
    last_day: date
    days: list[SlotDay]
    next_available: list[NextAvailable]

    @property
    def count(self) -> int:
        return sum(day.count for day in self.days)


def slot_search(
    *,
    branch: Branch,
    service: Service,
    first_day: date,
    last_day: date,
    doctor: User | None = None,
    specialty: Specialty | None = None,
    starts_from: time | None = None,
    starts_before: time | None = None,
    step_minutes: int = STEP_MINUTES,
) -> SlotSearch:
    """Every free slot for ``service`` at ``branch`` from ``first_day`` to ``last_day``
    (both included, at most ``MAX_SEARCH_DAYS``), grouped by day and doctor, and the first
    free slot of each candidate doctor in the range ("next available"). With
    ``starts_from``/``starts_before`` only slots starting in that part of the day count.
    Three queries, whatever the range and the number of doctors."""
    last_day = min(last_day, first_day + timedelta(days=MAX_SEARCH_DAYS - 1))
    days = [first_day + timedelta(days=n) for n in range(max((last_day - first_day).days + 1, 0))]
    result = SlotSearch(first_day=first_day, last_day=last_day, days=[], next_available=[])
    if not days:
        return result
    schedule = _read_schedule(
        branch=branch,
        service=service,
        first=first_day,
        last=last_day,
        doctor=doctor,
        specialty=specialty,
    )
    now = timezone.now()
    duration = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=max(step_minutes, 1))
    first_free: dict[int, Slot] = {}
    for day in days:
        slot_day = SlotDay(
            day=day,
            working=len(
                {
                    b.doctor_id
                    for b in schedule.hours
                    if b.weekday == day.weekday() and not schedule.is_day_off(b.doctor_id, day)
                }
            ),
        )
        by_doctor: dict[int, DoctorSlots] = {}
        for slot in _day_slots(
            schedule,
            branch=branch,
            day=day,
            duration=duration,
            step=step,
            now=now,
            starts_from=starts_from,
            starts_before=starts_before,
        ):
            doctor_id = slot.doctor.pk
            first_free.setdefault(doctor_id, slot)
            by_doctor.setdefault(doctor_id, DoctorSlots(slot.doctor, [])).slots.append(slot)
        # Doctors in the order of the schedule (by name), as in the calendar's columns.
        slot_day.doctors = [by_doctor[pk] for pk in schedule.doctors if pk in by_doctor]
        result.days.append(slot_day)
    result.next_available = sorted(
        (NextAvailable(doc, first_free.get(pk)) for pk, doc in schedule.doctors.items()),
        key=lambda n: (n.slot is None, n.slot.starts_at if n.slot else now, str(n.doctor)),
    )
    return result


# --- offers when a visit is completed ---------------------------------------------------


@dataclass
class OfferedDay:
    day: date
    in_window: bool
    slots: list[Slot]


@dataclass
class SlotOffers:
    """Free slots offered for the next visit: the chosen doctor's first days with free
    time, and the first free slots of the other doctors of the specialty. Days inside
    the stage's expected window come first (the range starts at the window)."""

    doctor: User
    first_day: date
    last_day: date
    window_start: date | None
    window_end: date | None
    window_passed: bool
    days: list[OfferedDay]
    colleagues: list[DoctorSlots]

    @property
    def in_window_count(self) -> int:
        return sum(len(d.slots) for d in self.days if d.in_window)


OFFER_DAYS_AFTER_WINDOW = 14
OFFER_MAX_DAYS = 45


def slot_offers(
    *,
    branch: Branch,
    service: Service,
    doctor: User,
    specialty: Specialty | None = None,
    window_start: date | None = None,
    window_end: date | None = None,
    today: date,
    days_shown: int = 5,
    per_colleague: int = 4,
) -> SlotOffers:
    """What the visit completion form offers for booking the next visit. With an
    expected window ending today or later, the range runs from the window's start (today
    at the earliest) to two weeks after its end; otherwise the next two weeks. Three
    queries."""
    window_passed = window_end is not None and window_end < today
    # The expected window's (start, end) while it has not passed, else None.
    window = (
        (window_start, window_end)
        if window_start is not None and window_end is not None and not window_passed
        else None
    )
    if window is not None:
        first = max(today, window[0])
        last = max(window[1], first) + timedelta(days=OFFER_DAYS_AFTER_WINDOW)
    else:
        first = today
        last = today + timedelta(days=DEFAULT_SEARCH_DAYS - 1)
    last = min(last, first + timedelta(days=OFFER_MAX_DAYS - 1))
    schedule = _read_schedule(
        branch=branch,
        service=service,
        first=first,
        last=last,
        specialty=specialty,
        also_doctor=doctor,
    )
    now = timezone.now()
    duration = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=STEP_MINUTES)
    days: list[OfferedDay] = []
    colleagues: dict[int, DoctorSlots] = {}
    day = first
    while day <= last:
        own: list[Slot] = []
        for slot in _day_slots(
            schedule, branch=branch, day=day, duration=duration, step=step, now=now
        ):
            if slot.doctor.pk == doctor.pk:
                own.append(slot)
                continue
            entry = colleagues.setdefault(slot.doctor.pk, DoctorSlots(slot.doctor, []))
            if len(entry.slots) < per_colleague:
                entry.slots.append(slot)
        if own and len(days) < days_shown:
            in_window = window is not None and window[0] <= day <= window[1]
            days.append(OfferedDay(day=day, in_window=in_window, slots=own))
        day += timedelta(days=1)
    ordered = [colleagues[pk] for pk in schedule.doctors if pk in colleagues]
    return SlotOffers(
        doctor=doctor,
        first_day=first,
        last_day=last,
        window_start=window_start if (window is not None or window_passed) else None,
        window_end=window_end if (window is not None or window_passed) else None,
        window_passed=window_passed,
        days=days,
        colleagues=ordered,
    )
