"""The day calendar's grid as data: doctors × time, laid out as a CSS grid.

Row 1 holds the doctors, then one row per ``GRID_MINUTES``; column 1 holds the times,
then one column per doctor. ``templates/journeys/calendar_day_grid.html`` prints it.

A day of ten doctors is up to a thousand cells and a few hundred visit blocks, so
everything a cell or block shows (classes, grid position, booking URL, label) is made
here as a ready string, once per row or per doctor where it can be: the template only
prints them (a number in a template goes through localisation, a string does not, and
every URL reversal or display lookup inside a template loop costs far more).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import Visit
from journeys.selectors_scheduling import CalendarDay

GRID_MINUTES = 15
DEFAULT_DAY = (time(8, 0), time(20, 0))
_URL_ID = 987654321  # stands for an id in a URL reversed once and filled in per block


@dataclass(frozen=True, slots=True)
class TimeRow:
    """A label of the time column."""

    area: str  # CSS grid-area: "<row> / 1"
    label: str  # "08:15"
    hour: bool  # on the hour: the label shows and a line is drawn


@dataclass(frozen=True, slots=True)
class Cell:
    """One doctor's ``GRID_MINUTES`` at one time. ``state`` is "off" (outside the
    working hours or on a day off), "busy" (a visit covers it), "past" or "free"."""

    state: str
    css: str  # the classes after "cal-cell": the state, "bookable", "hour"
    area: str  # CSS grid-area: "<row> / <column>"
    time: str  # "08:15"
    url: str = ""  # the booking form for this doctor, day and time, when it is bookable
    label: str = ""  # what a screen reader says of a bookable cell

    @property
    def bookable(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class VisitBlock:
    """A visit drawn over the cells it covers; it opens the visit panel."""

    visit_id: str
    status: str
    column: int
    row: int
    span: int
    starts: str  # "09:00", in the branch's time zone
    ends: str
    area: str  # CSS: "grid-row: <row> / span <n>; grid-column: <column>"
    url: str  # the visit panel
    title: str  # "09:00–09:30 · patient · service · status"
    who: str  # "09:00 patient"
    what: str  # "service · status"


@dataclass(frozen=True, slots=True)
class DoctorColumn:
    doctor_id: str
    column: int
    name: str
    day_off: str  # the kind of the day off ("Sick day"), or ""
    hours: str  # "09:00–13:00, 14:00–18:00", or "" without working hours
    cells: list[Cell] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DayGrid:
    times: list[TimeRow]
    columns: list[DoctorColumn]
    blocks: list[VisitBlock]
    column_count: int
    row_count: int
    now_row: int | None  # the grid row of the "now" line, when now is on the grid


def _floor(at: time) -> time:
    return time(at.hour, 0)


def _ceil(at: time) -> time:
    if at.minute == 0 and at.second == 0:
        return at
    return time(at.hour + 1, 0) if at.hour < 23 else time(23, 59)


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _hhmm(at: time) -> str:
    return at.strftime("%H:%M")


def _day_bounds(calendar: CalendarDay) -> tuple[int, int]:
    """First and last minute of the grid: the whole hours around every working hour and
    every visit of the day (a visit running past midnight reaches the day's end), at
    least an hour, and 08:00–20:00 when there is nothing."""
    zone = calendar.zone
    starts = [b.starts for c in calendar.columns for b in c.hours]
    ends = [b.ends for c in calendar.columns for b in c.hours]
    for column in calendar.columns:
        for visit in column.visits:
            starts.append(timezone.localtime(visit.starts_at, zone).time())
            local_end = timezone.localtime(visit.ends_at, zone)
            ends.append(local_end.time() if local_end.date() == calendar.day else time(23, 59))
    first = _floor(min(starts)) if starts else DEFAULT_DAY[0]
    last = _ceil(max(ends)) if ends else DEFAULT_DAY[1]
    return _minutes(first), max(_minutes(last), _minutes(first) + 60)


def _now_row(now: datetime, day: date, first_minute: int, last_minute: int) -> int | None:
    if now.date() != day:
        return None
    minute = _minutes(now.time())
    if not first_minute <= minute < last_minute:
        return None
    return (minute - first_minute) // GRID_MINUTES + 2


def day_grid(calendar: CalendarDay, *, now: datetime, can_book: bool) -> DayGrid:
    """The grid of ``calendar`` as seen at ``now``, in the branch's time zone; with
    ``can_book``, free cells open the booking form for their doctor, day and time."""
    zone = calendar.zone
    first_minute, last_minute = _day_bounds(calendar)
    times = [time(m // 60, m % 60) for m in range(first_minute, last_minute, GRID_MINUTES)]
    now = timezone.localtime(now, zone)
    book_url = reverse("journeys:visit_book")
    # One reversal for every block: the panel URL with a placeholder for the visit id.
    panel_url = reverse("journeys:visit_detail_partial", args=[_URL_ID]).replace(str(_URL_ID), "{}")
    day_text = calendar.day.isoformat()
    # Per row, shared by every doctor: label, "time" URL parameter, hour line, past.
    labels = [_hhmm(at) for at in times]
    time_params = [urlencode({"time": label}) for label in labels]
    on_the_hour = [at.minute == 0 for at in times]
    past = [datetime.combine(calendar.day, at, tzinfo=zone) < now for at in times]
    book_label = _("Book %(doctor)s at %(time)s")
    status_labels = {value: str(label) for value, label in Visit.Status.choices}

    columns, blocks = [], []
    for index, doctor_day in enumerate(calendar.columns):
        column = index + 2
        column_text = str(column)
        doctor = doctor_day.doctor
        doctor_name = str(doctor)
        covered: set[int] = set()
        for visit in doctor_day.visits:
            local_start = timezone.localtime(visit.starts_at, zone)
            local_end = timezone.localtime(visit.ends_at, zone)
            start_min = _minutes(local_start.time())
            end_min = (
                _minutes(local_end.time()) if local_end.date() == calendar.day else last_minute
            )
            row = max((start_min - first_minute) // GRID_MINUTES, 0)
            span = max(-(-(end_min - first_minute) // GRID_MINUTES) - row, 1)
            covered.update(range(row, row + span))
            starts_text, ends_text = local_start.strftime("%H:%M"), local_end.strftime("%H:%M")
            patient, service = visit.patient.full_name, visit.service.name
            status = status_labels.get(visit.status, visit.status)
            blocks.append(
                VisitBlock(
                    visit_id=str(visit.pk),
                    status=visit.status,
                    column=column,
                    row=row + 2,
                    span=span,
                    starts=starts_text,
                    ends=ends_text,
                    area=f"grid-row: {row + 2} / span {span}; grid-column: {column}",
                    url=panel_url.format(visit.pk),
                    title=f"{starts_text}–{ends_text} · {patient} · {service} · {status}",
                    who=f"{starts_text} {patient}",
                    what=f"{service} · {status}",
                )
            )
        hours = doctor_day.hours if doctor_day.works else []
        doctor_query = ""
        if can_book:
            doctor_query = (
                book_url
                + "?"
                + urlencode({"branch": calendar.branch.pk, "doctor": doctor.pk, "date": day_text})
                + "&"
            )
        cells = []
        for row, at in enumerate(times):
            if not any(b.starts <= at < b.ends for b in hours):
                state = "off"
            elif row in covered:
                state = "busy"
            elif past[row]:
                state = "past"
            else:
                state = "free"
            url = label = ""
            css = state
            if state == "free" and can_book:
                url = doctor_query + time_params[row]
                label = book_label % {"doctor": doctor_name, "time": labels[row]}
                css = "free bookable"
            if on_the_hour[row]:
                css += " hour"
            cells.append(
                Cell(
                    state=state,
                    css=css,
                    area=f"{row + 2} / {column_text}",
                    time=labels[row],
                    url=url,
                    label=label,
                )
            )
        day_off = doctor_day.day_off
        columns.append(
            DoctorColumn(
                doctor_id=str(doctor.pk),
                column=column,
                name=doctor_name,
                day_off=str(day_off.get_kind_display()) if day_off is not None else "",
                hours=", ".join(f"{_hhmm(h.starts)}–{_hhmm(h.ends)}" for h in doctor_day.hours),
                cells=cells,
            )
        )
    return DayGrid(
        times=[
            TimeRow(area=f"{n + 2} / 1", label=labels[n], hour=on_the_hour[n])
            for n in range(len(times))
        ],
        columns=columns,
        blocks=blocks,
        column_count=len(calendar.columns),
        row_count=len(times),
        now_row=_now_row(now, calendar.day, first_minute, last_minute),
    )
