"""The administrators' calendar: the day (doctors × time) and week (doctors × days)
views of a branch. The day grid is laid out by ``journeys.presenters.calendar``; both
grids fetch themselves again when the page hears ``visits-changed``."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic_crm.audit.services import audit_list_read
from clinic_crm.staff.access import role_required
from journeys import selectors_scheduling as selectors
from journeys.presenters.calendar import day_grid
from journeys.views.scheduling import READ_ROLES, can_write, pick_branch, pick_day, vary_on_htmx


def _day_context(request: HttpRequest) -> dict:
    branch, branches = pick_branch(request)
    day = pick_day(request, branch)
    calendar = selectors.calendar_day(branch=branch, day=day)
    today = selectors.local_now(branch).date()
    writes = can_write(request.user, branch.pk)
    return {
        "branch": branch,
        "branches": branches,
        "day": day,
        "today": today,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "week_start": day - timedelta(days=day.weekday()),
        "calendar": calendar,
        "grid": day_grid(calendar, now=timezone.now(), can_book=writes),
        "can_write": writes,
    }


@require_GET
@role_required(*READ_ROLES)
def calendar_day_view(request: HttpRequest) -> HttpResponse:
    context = _day_context(request)
    audit_list_read(
        request=request,
        page="calendar day",
        patient_ids=[v.patient_id for c in context["calendar"].columns for v in c.visits],
    )
    template = "journeys/calendar_day.html"
    if request.htmx and not request.htmx.history_restore_request:
        template = {
            "calendar-grid": "journeys/calendar_day_grid.html",
            "calendar-body": "journeys/calendar_day_body.html",
        }.get(request.htmx.target or "", template)
    return vary_on_htmx(render(request, template, context))


@require_GET
@role_required(*READ_ROLES)
def calendar_week_view(request: HttpRequest) -> HttpResponse:
    branch, branches = pick_branch(request)
    day = pick_day(request, branch)
    week_start = day - timedelta(days=day.weekday())
    doctor = None
    doctor_id = request.GET.get("doctor") or ""
    doctors = list(selectors.doctors_at(branch=branch))
    if doctor_id:
        doctor = next((d for d in doctors if str(d.pk) == doctor_id), None)
    week = selectors.calendar_week(branch=branch, week_start=week_start, doctor=doctor)
    audit_list_read(
        request=request,
        page="calendar week",
        patient_ids=[v.patient_id for r in week.rows for c in r.cells for v in c.visits],
    )
    zone = week.zone
    for row in week.rows:
        for cell in row.cells:
            cell.local_visits = [(timezone.localtime(v.starts_at, zone), v) for v in cell.visits]
    shown = _week_days_shown(week)
    for row in week.rows:
        row.shown_cells = [row.cells[i] for i in shown]
    context = {
        "branch": branch,
        "branches": branches,
        "week": week,
        "shown_days": [week.days[i] for i in shown],
        "hidden_days": [d for i, d in enumerate(week.days) if i not in shown],
        "day": day,
        "today": selectors.local_now(branch).date(),
        "prev_week": week_start - timedelta(days=7),
        "next_week": week_start + timedelta(days=7),
        "doctors": doctors,
        "doctor": doctor,
        "can_write": can_write(request.user, branch.pk),
    }
    template = "journeys/calendar_week.html"
    if request.htmx and request.htmx.target == "week-grid":
        template = "journeys/calendar_week_grid.html"
    return vary_on_htmx(render(request, template, context))


def _week_days_shown(week: selectors.CalendarWeek) -> list[int]:
    """Indexes of the days the week grid shows: every weekday, and Saturday and Sunday
    only when someone works or has a visit then (a clinic closed at weekends gets the
    width of two columns back)."""
    return [
        index
        for index, day in enumerate(week.days)
        if day.weekday() < 5
        or any(row.cells[index].hours or row.cells[index].visits for row in week.rows)
    ]
