"""The demo clinic's calendar: every doctor's days around ``now`` filled the way a busy
clinic's are, whatever the hour the demo is loaded.

Visits are placed relative to ``now`` in each branch's time zone. What ended before it
took place (completed, now and then a no-show or a cancellation); the visit under way is
in progress and the next patient has arrived; the rest of the day and the coming week are
booked through ``visit_book`` (so they have their reminders), about half of them
confirmed, a few cancelled. Loaded at 23:30 the whole of today is done; at 06:00 all of
it is ahead — today is full either way.

``DemoCalendar`` knows who is busy when (doctors and patients, from the database and
from what the demo adds), so the demo never double-books anyone and keeps every visit
inside the doctor's working hours: the exclusion constraint is never the one to say no.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q

from clinic_crm.catalogue.models import Branch, Service
from journeys.errors import JourneyError
from journeys.models import Visit, WorkingHours
from journeys.services.visit_status import visit_cancel, visit_confirm
from journeys.services.visits import visit_book

STEP = timedelta(minutes=15)
# The visit whose patient is already in the waiting room starts this soon after "now".
ARRIVED_WITHIN = timedelta(minutes=30)
# Share of each doctor's working time that is booked: the days already past, today, and
# each coming day (a calendar fills up as the day comes nearer).
PAST_FILL = 0.82
TODAY_FILL = 0.88
FUTURE_FILL = (0.72, 0.6, 0.5, 0.42, 0.35, 0.3)
DAYS_BACK = 6
# How a visit that has ended turned out (the rest: completed).
NO_SHOW_SHARE = 0.05
LATE_CANCEL_SHARE = 0.03
CONFIRMED_SHARE = 0.55
FUTURE_CANCEL_SHARE = 0.04
CANCEL_REASONS = ["Заболел, перезвонит сам", "Не может прийти: командировка", "Перенесёт позже"]


@dataclass
class DemoCalendar:
    """Busy intervals of doctors and patients and the doctors' working hours, in memory,
    so the demo finds free times without a query per candidate slot."""

    now: datetime
    hours: dict[tuple[int, int, int], list[tuple[time, time]]] = field(default_factory=dict)
    doctor_busy: dict[int, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    patient_busy: dict[int, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    patient_days: set[tuple[int, date]] = field(default_factory=set)

    @classmethod
    def load(cls, *, now: datetime, doctors: Sequence, patients: Sequence) -> DemoCalendar:
        """The hours and visits of ``doctors`` and the visits of ``patients`` (only
        theirs: a large data set's millions of visits stay in the database)."""
        calendar = cls(now=now)
        for block in WorkingHours.objects.filter(doctor__in=doctors).order_by("starts"):
            key = (block.doctor_id, block.branch_id, block.weekday)
            calendar.hours.setdefault(key, []).append((block.starts, block.ends))
        visits = (
            Visit.objects.filter(Q(doctor__in=doctors) | Q(patient__in=patients))
            .exclude(status__in=Visit.CANCELLED)
            .select_related("branch")
        )
        for visit in visits.only(
            "doctor_id", "patient_id", "starts_at", "ends_at", "branch__time_zone"
        ):
            calendar.add(visit)
        return calendar

    def add(self, visit: Visit) -> None:
        if visit.status in Visit.CANCELLED:
            return
        span = (visit.starts_at, visit.ends_at)
        self.doctor_busy[visit.doctor_id].append(span)
        self.patient_busy[visit.patient_id].append(span)
        day = visit.starts_at.astimezone(ZoneInfo(visit.branch.time_zone)).date()
        self.patient_days.add((visit.patient_id, day))

    def today(self, branch: Branch) -> date:
        return self.now.astimezone(ZoneInfo(branch.time_zone)).date()

    def blocks(self, *, doctor, branch: Branch, day: date) -> list[tuple[datetime, datetime]]:
        """The doctor's working blocks at ``branch`` on ``day``, as instants."""
        zone = ZoneInfo(branch.time_zone)
        return [
            (datetime.combine(day, starts, tzinfo=zone), datetime.combine(day, ends, tzinfo=zone))
            for starts, ends in self.hours.get((doctor.pk, branch.pk, day.weekday()), [])
        ]

    def doctor_free(self, doctor_id: int, start: datetime, end: datetime) -> bool:
        return not any(a < end and start < b for a, b in self.doctor_busy.get(doctor_id, ()))

    def patient_free(self, patient_id: int, start: datetime, end: datetime) -> bool:
        return not any(a < end and start < b for a, b in self.patient_busy.get(patient_id, ()))

    def free_starts(
        self, *, doctor, branch: Branch, patient, length: timedelta, days: Iterator[date]
    ) -> Iterator[datetime]:
        """Starts, day by day in the order of ``days``, where the doctor and the patient
        are both free for ``length`` inside the doctor's hours."""
        for day in days:
            for block_start, block_end in self.blocks(doctor=doctor, branch=branch, day=day):
                start = block_start
                while start + length <= block_end:
                    end = start + length
                    if self.doctor_free(doctor.pk, start, end) and self.patient_free(
                        patient.pk, start, end
                    ):
                        yield start
                    start += STEP


def past_status(rng: random.Random) -> str:
    """How a visit that has ended turned out."""
    roll = rng.random()
    if roll < NO_SHOW_SHARE:
        return Visit.Status.NO_SHOW
    if roll < NO_SHOW_SHARE + LATE_CANCEL_SHARE:
        return Visit.Status.CANCELLED_BY_PATIENT
    return Visit.Status.COMPLETED


def past_visit(*, patient, doctor, branch, service, start, status, stage=None) -> Visit:
    """A visit that already happened (or started): written as the fact it is, because
    the services refuse to book the past."""
    end = start + timedelta(minutes=service.duration_minutes)
    done = status == Visit.Status.COMPLETED
    return Visit(
        patient=patient,
        doctor=doctor,
        branch=branch,
        service=service,
        stage=stage,
        starts_at=start,
        ends_at=end,
        status=status,
        completed_at=end if done else None,
        price_charged=service.price if done else None,
        cancel_reason=CANCEL_REASONS[0] if status in Visit.CANCELLED else "",
    )


@dataclass(frozen=True)
class DoctorDay:
    """What a doctor sees on a day: their services, with how often each is booked."""

    doctor: object
    branch: Branch
    services: Sequence[tuple[Service, int]]


def _fill_share(day: date, today: date) -> float:
    if day < today:
        return PAST_FILL
    if day == today:
        return TODAY_FILL
    ahead = (day - today).days - 1
    return FUTURE_FILL[min(ahead, len(FUTURE_FILL) - 1)]


@transaction.atomic
def calendar_fill(
    *,
    calendar: DemoCalendar,
    doctors: Sequence[DoctorDay],
    patients: Sequence,
    front_desk,
    rng: random.Random,
) -> dict[str, int]:
    """Fills each doctor's working time from ``DAYS_BACK`` days ago to the end of the
    coming week around ``calendar.now``, with patients from ``patients`` (one visit per
    patient a day). Returns the visits made by status."""
    if not patients:
        return {}
    written: list[Visit] = []
    counts: dict[str, int] = defaultdict(int)
    for doctor_day in doctors:
        today = calendar.today(doctor_day.branch)
        for offset in range(-DAYS_BACK, len(FUTURE_FILL) + 1):
            day = today + timedelta(days=offset)
            for visit in _fill_day(
                calendar=calendar,
                doctor_day=doctor_day,
                day=day,
                share=_fill_share(day, today),
                patients=patients,
                front_desk=front_desk,
                rng=rng,
            ):
                counts[visit.status] += 1
                if visit.pk is None:
                    written.append(visit)
    Visit.objects.bulk_create(written, batch_size=1000)
    return dict(counts)


def _fill_day(*, calendar, doctor_day, day, share, patients, front_desk, rng) -> Iterator[Visit]:
    doctor, branch = doctor_day.doctor, doctor_day.branch
    services = [s for s, _w in doctor_day.services]
    weights = [w for _s, w in doctor_day.services]
    for block_start, block_end in calendar.blocks(doctor=doctor, branch=branch, day=day):
        start = block_start
        while start < block_end:
            service = rng.choices(services, weights)[0]
            length = timedelta(minutes=service.duration_minutes)
            end = start + length
            if end > block_end or rng.random() > share:
                start += 2 * STEP  # a gap in the day
                continue
            if not calendar.doctor_free(doctor.pk, start, end):
                start += STEP
                continue
            patient = _free_patient(calendar, patients, start, end, day, rng)
            if patient is None:
                start += STEP
                continue
            visit = _place(
                calendar=calendar,
                patient=patient,
                doctor=doctor,
                branch=branch,
                service=service,
                start=start,
                front_desk=front_desk,
                rng=rng,
            )
            if visit is not None:
                calendar.add(visit)
                yield visit
            start = end


def _free_patient(calendar, patients, start, end, day, rng):
    for _attempt in range(12):
        patient = rng.choice(patients)
        if (patient.pk, day) in calendar.patient_days:
            continue
        if calendar.patient_free(patient.pk, start, end):
            return patient
    return None


def _place(*, calendar, patient, doctor, branch, service, start, front_desk, rng) -> Visit | None:
    """One visit at ``start``: a fact when it has begun (or its patient is already
    waiting), a booking through the service when it is still ahead."""
    now = calendar.now
    end = start + timedelta(minutes=service.duration_minutes)
    if end <= now:
        status = past_status(rng)
    elif start <= now:
        status = Visit.Status.IN_PROGRESS
    elif start <= now + ARRIVED_WITHIN:
        status = Visit.Status.ARRIVED
    else:
        return _book(
            patient=patient, doctor=doctor, branch=branch, service=service, start=start,
            front_desk=front_desk, rng=rng,
        )  # fmt: skip
    return past_visit(
        patient=patient, doctor=doctor, branch=branch, service=service, start=start, status=status
    )


def _book(*, patient, doctor, branch, service, start, front_desk, rng) -> Visit | None:
    try:
        visit = visit_book(
            actor=front_desk,
            patient=patient,
            doctor=doctor,
            branch=branch,
            service=service,
            starts_at=start,
        )
    except JourneyError:  # e.g. a time that has passed by the real clock
        return None
    roll = rng.random()
    if roll < FUTURE_CANCEL_SHARE:
        visit = visit_cancel(
            actor=front_desk,
            visit=visit,
            by_patient=True,
            reason=rng.choice(CANCEL_REASONS),
        )
    elif roll < FUTURE_CANCEL_SHARE + CONFIRMED_SHARE:
        visit = visit_confirm(actor=front_desk, visit=visit)
    return visit
