"""Whether a doctor can take a visit at a time: inside one block of their working hours
at that branch, on a day without a schedule exception, not in the past, and not over
another visit of theirs. The friendly check names the clashing visit; the PostgreSQL
exclusion constraint ``visit_doctor_no_overlap`` settles the race when two bookings pass
the check at the same moment, and its violation becomes the same message. (Free slots are
listed by ``journeys.selectors_slots``.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.roles import Role
from journeys.errors import JourneyError
from journeys.models import (
    ScheduleException,
    Visit,
    Weekday,
    WorkingHours,
)

if TYPE_CHECKING:
    from clinic_crm.staff.models import User
    from patients.models import Patient


OVERLAP_CONSTRAINT = "visit_doctor_no_overlap"
DEADLOCK_DETECTED = "40P01"
SAVE_ATTEMPTS = 3


def local_datetime(branch: Branch, day: date, at: time) -> datetime:
    """A wall-clock time at the branch as an aware datetime."""
    return datetime.combine(day, at, tzinfo=branch.zone)


def doctor_name(doctor: User) -> str:
    return str(doctor)


def hour_minute(moment: datetime, zone: ZoneInfo) -> str:
    return timezone.localtime(moment, zone).strftime("%H:%M")


def _overlap_message(conflict: Visit, doctor: User, zone: ZoneInfo) -> str:
    return _("Dr %(doctor)s already has a visit %(start)s–%(end)s.") % {
        "doctor": doctor_name(doctor),
        "start": hour_minute(conflict.starts_at, zone),
        "end": hour_minute(conflict.ends_at, zone),
    }


def doctor_conflict(
    *, doctor: User, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None
) -> Visit | None:
    visits = Visit.objects.filter(
        doctor=doctor, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exclude(status__in=Visit.CANCELLED)
    if exclude_id is not None:
        visits = visits.exclude(pk=exclude_id)
    return visits.order_by("starts_at").first()


def slot_check(
    *,
    doctor: User,
    branch: Branch,
    patient: Patient,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
) -> None:
    """Refuses a time that is in the past, outside the doctor's hours, on a day off, or
    taken by another visit of the doctor or the patient."""
    if timezone.is_naive(starts_at):
        raise JourneyError(_("The visit time must include a time zone."))
    zone = branch.zone
    name = doctor_name(doctor)
    if not doctor.is_active or not doctor.has_role(Role.DOCTOR):
        raise JourneyError(
            _("%(name)s is not a doctor; visits are booked with doctors.") % {"name": name}
        )
    if starts_at < timezone.now():
        raise JourneyError(
            _("%(time)s has already passed; choose a time in the future.")
            % {"time": timezone.localtime(starts_at, zone).strftime("%d.%m.%Y %H:%M")}
        )

    local_start = timezone.localtime(starts_at, zone)
    local_end = timezone.localtime(ends_at, zone)
    day = local_start.date()
    hours = list(
        WorkingHours.objects.filter(doctor=doctor, branch=branch, weekday=day.weekday()).order_by(
            "starts"
        )
    )
    fits = local_end.date() == day and any(
        block.starts <= local_start.time() and local_end.time() <= block.ends for block in hours
    )
    if not fits:
        weekday = Weekday(day.weekday()).label
        if not hours:
            raise JourneyError(
                _("Dr %(doctor)s does not work at %(branch)s on %(weekday)s.")
                % {"doctor": name, "branch": branch, "weekday": weekday}
            )
        raise JourneyError(
            _(
                "%(start)s–%(end)s is outside the working hours of Dr %(doctor)s at "
                "%(branch)s on %(weekday)s: %(hours)s."
            )
            % {
                "start": local_start.strftime("%H:%M"),
                "end": local_end.strftime("%H:%M"),
                "doctor": name,
                "branch": branch,
                "weekday": weekday,
                "hours": ", ".join(f"{b.starts:%H:%M}–{b.ends:%H:%M}" for b in hours),
            }
        )

    exception = ScheduleException.objects.filter(
        doctor=doctor, starts_on__lte=day, ends_on__gte=day
    ).first()
    if exception is not None:
        raise JourneyError(
            _("Dr %(doctor)s is not working on %(date)s: %(reason)s.")
            % {
                "doctor": name,
                "date": day.strftime("%d.%m"),
                "reason": exception.get_kind_display().lower(),
            }
        )

    conflict = doctor_conflict(
        doctor=doctor, starts_at=starts_at, ends_at=ends_at, exclude_id=exclude_id
    )
    if conflict is not None:
        raise JourneyError(_overlap_message(conflict, doctor, zone))

    patient_visits = Visit.objects.filter(
        patient=patient, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exclude(status__in=Visit.CANCELLED)
    if exclude_id is not None:
        patient_visits = patient_visits.exclude(pk=exclude_id)
    clash = patient_visits.select_related("doctor").first()
    if clash is not None:
        raise JourneyError(
            _("%(patient)s already has a visit %(start)s–%(end)s with Dr %(doctor)s.")
            % {
                "patient": patient,
                "start": hour_minute(clash.starts_at, zone),
                "end": hour_minute(clash.ends_at, zone),
                "doctor": doctor_name(clash.doctor),
            }
        )


def _is_overlap_violation(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == OVERLAP_CONSTRAINT


def _is_deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "pgcode", None) == DEADLOCK_DETECTED


def visit_save_refusing_overlap(visit: Visit, *, save: Callable[[], None]) -> None:
    """Runs ``save`` in a savepoint; a lost race on the exclusion constraint becomes the
    same message as the friendly check (the winner has committed by then, so it can be
    named).

    Two rows inserted at the same instant can also make PostgreSQL report a deadlock
    instead: each checks the constraint against the other's uncommitted row and waits for
    it. One of them is aborted at once; its savepoint is rolled back and the save tried
    again, which then waits for the winner and meets the constraint like any late booking.
    """
    for _attempt in range(SAVE_ATTEMPTS):
        try:
            with transaction.atomic():
                save()
            return
        except OperationalError as exc:
            if not _is_deadlock(exc):
                raise
            lost_race: Exception = exc
        except IntegrityError as exc:
            if not _is_overlap_violation(exc):
                raise
            lost_race = exc
            break
    conflict = doctor_conflict(
        doctor=visit.doctor,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        exclude_id=visit.pk,
    )
    if conflict is None:
        raise JourneyError(
            _("Dr %(doctor)s was booked for that time a moment ago; choose another time.")
            % {"doctor": doctor_name(visit.doctor)}
        ) from lost_race
    raise JourneyError(_overlap_message(conflict, visit.doctor, visit.branch.zone)) from lost_race
