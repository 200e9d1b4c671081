"""The day calendar's grid presenter (``journeys.presenters.calendar``): from a day's
doctors, hours, days off and visits to rows, cells and visit blocks. Pure: the models
are built in memory and never saved, so these tests touch no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import translation

from clinic_crm.catalogue.models import Branch, Service
from clinic_crm.staff.models import User
from journeys.models import ScheduleException, Visit, WorkingHours
from journeys.presenters.calendar import GRID_MINUTES, day_grid
from journeys.selectors_scheduling import CalendarDay, DoctorDay
from patients.models import Patient

DAY = date(2031, 3, 3)  # a Monday
ZONE = "Europe/Moscow"  # UTC+3 all year
_ids = iter(range(1000, 10**6))


def branch(time_zone: str = ZONE) -> Branch:
    return Branch(pk=7, name="Main street", time_zone=time_zone)


def doctor(first: str = "Anna", last: str = "Petrova") -> User:
    return User(pk=next(_ids), first_name=first, last_name=last, email=f"{last}@clinic.test")


def hours(doc: User, starts: str, ends: str) -> WorkingHours:
    return WorkingHours(
        pk=next(_ids), doctor=doc, weekday=DAY.weekday(), starts=_t(starts), ends=_t(ends)
    )


def visit(doc: User, starts: str, minutes: int, *, zone: str = ZONE, **fields) -> Visit:
    start = datetime.combine(DAY, _t(starts), tzinfo=ZoneInfo(zone))
    fields.setdefault("status", Visit.Status.SCHEDULED)
    return Visit(
        pk=next(_ids),
        doctor=doc,
        patient=Patient(pk=next(_ids), last_name="Ivanov", first_name="Pavel"),
        service=Service(pk=next(_ids), name="Consultation", duration_minutes=minutes),
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        **fields,
    )


def calendar(*columns: DoctorDay, time_zone: str = ZONE) -> CalendarDay:
    return CalendarDay(
        branch=branch(time_zone), day=DAY, zone=ZoneInfo(time_zone), columns=list(columns)
    )


def column(doc: User, *, hours_=(), visits=(), day_off=None) -> DoctorDay:
    return DoctorDay(doctor=doc, day=DAY, hours=list(hours_), visits=list(visits), day_off=day_off)


def _t(hhmm: str) -> time:
    h, m = hhmm.split(":")
    return time(int(h), int(m))


def at(hhmm: str, *, day: date = DAY, zone: str = ZONE) -> datetime:
    return datetime.combine(day, _t(hhmm), tzinfo=ZoneInfo(zone))


# The day before DAY: nothing on the grid is past, and there is no "now" line.
YESTERDAY = at("12:00", day=DAY - timedelta(days=1))


def cells_by_time(grid, index: int = 0) -> dict:
    return {cell.time: cell for cell in grid.columns[index].cells}


def test_the_grid_runs_over_the_whole_hours_around_the_working_hours():
    doc = doctor()
    grid = day_grid(
        calendar(column(doc, hours_=[hours(doc, "09:30", "12:45")])),
        now=YESTERDAY,
        can_book=False,
    )
    assert [row.label for row in grid.times][0] == "09:00"
    assert [row.label for row in grid.times][-1] == "12:45"
    assert grid.row_count == 4 * 60 // GRID_MINUTES
    assert [row.label for row in grid.times if row.hour] == ["09:00", "10:00", "11:00", "12:00"]
    # Row 1 holds the doctors' names, column 1 the times.
    assert grid.times[0].area == "2 / 1"
    assert grid.columns[0].cells[0].area == "2 / 2"
    assert cells_by_time(grid)["09:00"].state == "off"
    assert cells_by_time(grid)["09:30"].state == "free"
    assert cells_by_time(grid)["12:30"].state == "free"
    assert cells_by_time(grid)["12:45"].state == "off"


def test_a_visit_spanning_several_slots_is_one_block_over_busy_cells():
    doc = doctor()
    grid = day_grid(
        calendar(
            column(doc, hours_=[hours(doc, "09:00", "13:00")], visits=[visit(doc, "09:30", 75)])
        ),
        now=YESTERDAY,
        can_book=True,
    )
    [block] = grid.blocks
    # 09:30 is the third row after the doctors' row; 75 minutes cover five 15-minute rows.
    assert (block.row, block.span, block.column) == (4, 5, 2)
    assert block.area == "grid-row: 4 / span 5; grid-column: 2"
    assert (block.starts, block.ends) == ("09:30", "10:45")
    assert block.who == "09:30 Ivanov Pavel"
    assert block.status == "scheduled"
    cells = cells_by_time(grid)
    assert [cells[t].state for t in ("09:15", "09:30", "10:30", "10:45")] == [
        "free",
        "busy",
        "busy",
        "free",
    ]
    assert not cells["10:00"].bookable


def test_a_visit_ending_between_two_rows_covers_the_row_it_ends_in():
    doc = doctor()
    grid = day_grid(
        calendar(
            column(doc, hours_=[hours(doc, "09:00", "13:00")], visits=[visit(doc, "11:10", 30)])
        ),
        now=YESTERDAY,
        can_book=False,
    )
    [block] = grid.blocks
    # 11:10–11:40 starts in the 11:00 row and ends in the 11:30 one.
    assert (block.row, block.span) == (2 + 8, 3)
    cells = cells_by_time(grid)
    assert [cells[t].state for t in ("10:45", "11:00", "11:30", "11:45")] == [
        "free",
        "busy",
        "busy",
        "free",
    ]


def test_overlapping_visits_are_both_drawn_and_their_cells_are_busy():
    doc = doctor()
    first, second = visit(doc, "10:00", 60), visit(doc, "10:30", 60)
    grid = day_grid(
        calendar(column(doc, hours_=[hours(doc, "09:00", "13:00")], visits=[first, second])),
        now=YESTERDAY,
        can_book=True,
    )
    assert [(b.visit_id, b.row, b.span) for b in grid.blocks] == [
        (str(first.pk), 2 + 4, 4),
        (str(second.pk), 2 + 6, 4),
    ]
    cells = cells_by_time(grid)
    busy = [t for t, cell in cells.items() if cell.state == "busy"]
    assert busy == ["10:00", "10:15", "10:30", "10:45", "11:00", "11:15"]
    assert cells["11:30"].bookable


def test_a_doctor_with_no_working_hours_shows_only_off_cells_and_their_visits():
    working, unscheduled = doctor("Anna", "Petrova"), doctor("Igor", "Smirnov")
    grid = day_grid(
        calendar(
            column(working, hours_=[hours(working, "09:00", "11:00")]),
            column(unscheduled, visits=[visit(unscheduled, "09:30", 30)]),
        ),
        now=YESTERDAY,
        can_book=True,
    )
    head = grid.columns[1]
    assert (head.name, head.hours, head.day_off) == ("Igor Smirnov", "", "")
    assert {cell.state for cell in head.cells} == {"off"}
    assert not any(cell.bookable for cell in head.cells)
    [block] = grid.blocks
    assert block.column == 3
    assert grid.column_count == 2


def test_a_day_off_shows_its_kind_and_no_free_cell_despite_the_hours():
    doc = doctor()
    sick = ScheduleException(doctor=doc, starts_on=DAY, ends_on=DAY, kind="sick")
    with translation.override("en"):
        grid = day_grid(
            calendar(column(doc, hours_=[hours(doc, "09:00", "13:00")], day_off=sick)),
            now=YESTERDAY,
            can_book=True,
        )
    [head] = grid.columns
    assert head.day_off == "Sick day"
    assert head.hours == "09:00–13:00"
    assert {cell.state for cell in head.cells} == {"off"}


def test_the_doctors_hours_are_listed_in_the_column_head():
    doc = doctor()
    grid = day_grid(
        calendar(column(doc, hours_=[hours(doc, "09:00", "13:00"), hours(doc, "14:00", "18:30")])),
        now=YESTERDAY,
        can_book=False,
    )
    [head] = grid.columns
    assert head.hours == "09:00–13:00, 14:00–18:30"
    assert head.doctor_id == str(doc.pk)
    assert cells_by_time(grid)["13:30"].state == "off"  # the lunch break


def test_visits_are_placed_in_the_branch_time_zone():
    doc = doctor()
    # 06:00 UTC is 11:00 in Yekaterinburg (UTC+5) but 09:00 in Moscow (UTC+3).
    starts = datetime(2031, 3, 3, 6, 0, tzinfo=UTC)
    booked = visit(doc, "06:00", 30, zone="UTC")
    assert booked.starts_at == starts
    grid = day_grid(
        calendar(
            column(doc, hours_=[hours(doc, "08:00", "13:00")], visits=[booked]),
            time_zone="Asia/Yekaterinburg",
        ),
        now=YESTERDAY,
        can_book=False,
    )
    [block] = grid.blocks
    assert (block.starts, block.ends) == ("11:00", "11:30")
    assert block.row == 2 + 3 * 4  # three hours after 08:00
    assert cells_by_time(grid)["11:00"].state == "busy"
    assert cells_by_time(grid)["09:00"].state == "free"


def test_free_cells_link_to_the_booking_form_for_their_doctor_day_and_time():
    doc = doctor()
    with translation.override("en"):
        grid = day_grid(
            calendar(column(doc, hours_=[hours(doc, "09:00", "10:00")])),
            now=YESTERDAY,
            can_book=True,
        )
    cell = cells_by_time(grid)["09:15"]
    assert cell.bookable
    assert cell.css == "free bookable"
    assert cell.label == "Book Anna Petrova at 09:15"
    url = urlsplit(cell.url)
    assert url.path == reverse("journeys:visit_book")
    assert parse_qs(url.query) == {
        "branch": ["7"],
        "doctor": [str(doc.pk)],
        "date": ["2031-03-03"],
        "time": ["09:15"],
    }
    assert cells_by_time(grid)["09:00"].css == "free bookable hour"


def test_without_the_right_to_book_free_cells_are_not_links():
    doc = doctor()
    grid = day_grid(
        calendar(column(doc, hours_=[hours(doc, "09:00", "10:00")])),
        now=YESTERDAY,
        can_book=False,
    )
    cells = grid.columns[0].cells
    assert {cell.state for cell in cells} == {"free"}
    assert not any(cell.bookable or cell.label for cell in cells)
    assert [cell.css for cell in cells] == ["free hour", "free", "free", "free"]


def test_time_already_gone_today_is_past_and_the_now_line_marks_its_row():
    doc = doctor()
    grid = day_grid(
        calendar(column(doc, hours_=[hours(doc, "09:00", "12:00")])),
        # 07:07 UTC is 10:07 in Moscow.
        now=datetime(2031, 3, 3, 7, 7, tzinfo=UTC),
        can_book=True,
    )
    cells = cells_by_time(grid)
    assert [cells[t].state for t in ("09:45", "10:00", "10:15")] == ["past", "past", "free"]
    assert not cells["10:00"].bookable
    assert cells["10:15"].bookable
    assert grid.now_row == 2 + 4  # the 10:00 row


def test_now_off_the_grid_draws_no_now_line():
    doc = doctor()
    day = calendar(column(doc, hours_=[hours(doc, "09:00", "12:00")]))
    assert day_grid(day, now=YESTERDAY, can_book=True).now_row is None
    assert day_grid(day, now=at("18:00"), can_book=True).now_row is None


def test_a_visit_running_past_midnight_stretches_the_grid_to_the_end_of_the_day():
    doc = doctor()
    late = visit(doc, "22:30", 120)
    grid = day_grid(
        calendar(column(doc, hours_=[hours(doc, "20:00", "23:00")], visits=[late])),
        now=YESTERDAY,
        can_book=False,
    )
    assert grid.times[-1].label == "23:45"
    [block] = grid.blocks
    assert (block.starts, block.ends) == ("22:30", "00:30")
    assert block.row + block.span == 2 + grid.row_count


def test_an_empty_day_shows_eight_to_eight():
    grid = day_grid(calendar(), now=YESTERDAY, can_book=True)
    assert (grid.times[0].label, grid.times[-1].label) == ("08:00", "19:45")
    assert (grid.columns, grid.blocks, grid.column_count) == ([], [], 0)


def test_a_block_opens_the_visit_panel_and_names_the_visit():
    doc = doctor()
    booked = visit(doc, "09:00", 30, status=Visit.Status.CONFIRMED)
    with translation.override("en"):
        grid = day_grid(
            calendar(column(doc, hours_=[hours(doc, "09:00", "10:00")], visits=[booked])),
            now=YESTERDAY,
            can_book=False,
        )
    [block] = grid.blocks
    assert block.url == reverse("journeys:visit_detail_partial", args=[booked.pk])
    assert block.title == "09:00–09:30 · Ivanov Pavel · Consultation · Confirmed"
    assert block.what == "Consultation · Confirmed"
    assert block.status == "confirmed"
