"""The administrators' calendar: day and week views of doctors × time per branch, slot
search, and the visit panel with book, move, cancel and status steps, all over HTMX.

Every write answers with the visit panel (or the form with its error) for the modal,
and an ``HX-Trigger: visits-changed`` header that makes the calendar grid and the slot
list on the page fetch themselves again; the page itself never reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_list_read, audit_record
from clinic_crm.forms import sane_date
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role
from journeys import access
from journeys import selectors_scheduling as selectors
from journeys import selectors_slots as slot_selectors
from journeys.errors import JourneyError
from journeys.forms_scheduling import (
    BookingForm,
    CancelForm,
    MoveForm,
    StatusForm,
    end_preview,
)
from journeys.forms_slots import SlotSearchForm
from journeys.models import Branch, Handoff, Stage, Visit
from journeys.services import scheduling as services
from journeys.services.visit_undo import visit_undo_offer
from patients.access import patients_visible
from patients.selectors import patient_search

READ_ROLES = (Role.ADMINISTRATOR, Role.DOCTOR, Role.MANAGER)
WRITE_ROLES = (Role.ADMINISTRATOR,)
GRID_MINUTES = 15
DEFAULT_DAY = (time(8, 0), time(20, 0))
VISITS_CHANGED = "visits-changed"
PATIENT_OPTIONS = 8
MAX_ID = 2**63 - 1  # ids in query strings beyond a bigint are nobody


class _DryRun(Exception):
    """Rolls back a move that was only tried."""


STATUS_ACTIONS = {
    "confirm": Visit.Status.CONFIRMED,
    "arrive": Visit.Status.ARRIVED,
    "start": Visit.Status.IN_PROGRESS,
    "no_show": Visit.Status.NO_SHOW,
}
STATUS_NOTICE = {
    Visit.Status.CONFIRMED: gettext_lazy("The visit is confirmed."),
    Visit.Status.ARRIVED: gettext_lazy("Arrival is marked."),
    Visit.Status.IN_PROGRESS: gettext_lazy("The visit is in progress."),
    Visit.Status.NO_SHOW: gettext_lazy("The visit is marked as a no-show."),
}


# --- helpers ----------------------------------------------------------------------------


def _can_write(user, branch_id: int | None = None) -> bool:
    """Whether the user books and changes visits (at ``branch_id`` when given)."""
    if branch_id is None:
        return user.has_role(*WRITE_ROLES)
    return access.can_schedule_at(user, branch_id)


def _pick_branch(request: HttpRequest) -> tuple[Branch, list[Branch]]:
    """The branch asked for, among those the user works with (another one is 404), else
    the user's own."""
    branches = list(access.branches_of(request.user))
    if not branches:
        raise Http404(_("There is no branch whose calendar you can open."))
    wanted = request.GET.get("branch", "")
    for branch in branches:
        if str(branch.pk) == wanted:
            return branch, branches
    if wanted:
        raise Http404
    home = getattr(getattr(request.user, "profile", None), "branch_id", None)
    return next((b for b in branches if b.pk == home), branches[0]), branches


def _safe_date(value) -> date | None:
    """A day from the query string; nonsense and days outside the sane range are None
    (the page falls back to today)."""
    return sane_date(value)


def _pick_day(request: HttpRequest, branch: Branch) -> date:
    return _safe_date(request.GET.get("date")) or selectors.local_now(branch).date()


def _visit_or_404(request: HttpRequest, visit_id: int, *, change: bool = False) -> Visit:
    """The visit if its patient is one the user may see (else 404); with ``change``, also
    one the user may book and change at its branch (else 403)."""
    visit = access.visit_or_404(request.user, visit_id, selectors.visits_for_panel())
    if change and not access.can_change_visit(request.user, visit):
        raise PermissionDenied(_("Visits of this branch are booked by its own front desk."))
    if request.method == "GET":  # the panel and the forms name the patient
        audit_record(action=AuditAction.READ, request=request, obj=visit)
    return visit


def _partial(request: HttpRequest, template: str, context: dict, *, changed: bool = False):
    response = render(request, template, context)
    if changed:
        response["HX-Trigger"] = VISITS_CHANGED
    return response


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _floor(at: time) -> time:
    return time(at.hour, 0)


def _ceil(at: time) -> time:
    if at.minute == 0 and at.second == 0:
        return at
    return time(at.hour + 1, 0) if at.hour < 23 else time(23, 59)


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


_URL_ID = 987654321  # stands for an id in a URL reversed once and filled in per row


@dataclass
class GridVisit:
    visit: Visit
    column: int
    row: int
    span: int
    starts: str
    ends: str
    # What the template prints, computed once here: a full day is hundreds of blocks, and
    # inside a template loop every URL reversal, display lookup and number costs more.
    area: str = ""
    visit_id: str = ""
    url: str = ""
    title: str = ""
    who: str = ""
    what: str = ""


def _day_grid(calendar: selectors.CalendarDay, *, can_book: bool) -> dict:
    """Lays the day out as a CSS grid: row 1 holds the doctors, then one row per
    ``GRID_MINUTES``; column 1 holds the times, then one column per doctor.

    A day of ten doctors is up to a thousand cells and a few hundred visit blocks, so
    everything a cell shows (classes, position, booking URL, label) is computed here,
    once per row or per doctor where it can be, as ready strings: the template only
    prints them (a number in a template goes through localisation, a string does not)."""
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
    first_minute, last_minute = _minutes(first), max(_minutes(last), _minutes(first) + 60)
    times = [time(m // 60, m % 60) for m in range(first_minute, last_minute, GRID_MINUTES)]
    now = timezone.localtime(timezone.now(), zone)
    book_url = reverse("journeys:visit_book")
    # One reversal for every block: the panel URL with a placeholder for the visit id.
    panel_url = reverse("journeys:visit_detail_partial", args=[_URL_ID]).replace(str(_URL_ID), "{}")
    day_text = calendar.day.isoformat()
    # Per row, shared by every doctor: label, "time" URL parameter, hour line, past.
    labels = [at.strftime("%H:%M") for at in times]
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
                GridVisit(
                    visit=visit,
                    column=column,
                    row=row + 2,
                    span=span,
                    starts=starts_text,
                    ends=ends_text,
                    area=f"grid-row: {row + 2} / span {span}; grid-column: {column}",
                    visit_id=str(visit.pk),
                    url=panel_url.format(visit.pk),
                    title=f"{starts_text}–{ends_text} · {patient} · {service} · {status}",
                    who=f"{starts_text} {patient}",
                    what=f"{service} · {status}",
                )
            )
        hours = doctor_day.hours if doctor_day.works else []
        doctor_query = ""
        doctor_name = str(doctor)
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
            css = css + " hour" if on_the_hour[row] else css
            area = f"{row + 2} / {column_text}"
            if url:
                cells.append(
                    f'<button type="button" class="cal-cell {css}" style="grid-area: {area}" '
                    f'data-time="{labels[row]}" data-testid="free-cell" '
                    f'data-doctor-id="{doctor.pk}" aria-label="{escape(label)}" '
                    f'hx-get="{escape(url)}" hx-target="#visit-modal-body" '
                    f'data-bs-toggle="modal" data-bs-target="#visit-modal"></button>'
                )
            else:
                cells.append(f'<div class="cal-cell {css}" style="grid-area: {area}"></div>')
        columns.append(
            {
                "day": doctor_day,
                "doctor_id": str(doctor.pk),
                "column": column,
                # Up to a thousand cells a day: printed as one prepared string per doctor
                # rather than eight template variables per cell (a third of the page's
                # time). Only the label and the URL carry outside text; both are escaped.
                "cells_html": mark_safe("\n".join(cells)),  # noqa: S308
            }
        )
    return {
        "times": [
            {"area": f"{n + 2} / 1", "label": labels[n], "hour": on_the_hour[n]}
            for n in range(len(times))
        ],
        "columns": columns,
        "blocks": blocks,
        "column_count": len(calendar.columns),
        "row_count": len(times),
        "now_row": _now_row(now, calendar.day, first_minute, last_minute),
    }


def _now_row(now: datetime, day: date, first_minute: int, last_minute: int) -> int | None:
    if now.date() != day:
        return None
    minute = _minutes(now.time())
    if not first_minute <= minute < last_minute:
        return None
    return (minute - first_minute) // GRID_MINUTES + 2


def _day_context(request: HttpRequest) -> dict:
    branch, branches = _pick_branch(request)
    day = _pick_day(request, branch)
    calendar = selectors.calendar_day(branch=branch, day=day)
    today = selectors.local_now(branch).date()
    return {
        "branch": branch,
        "branches": branches,
        "day": day,
        "today": today,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "week_start": day - timedelta(days=day.weekday()),
        "calendar": calendar,
        "grid": _day_grid(calendar, can_book=_can_write(request.user, branch.pk)),
        "can_write": _can_write(request.user, branch.pk),
    }


def _panel_context(request: HttpRequest, visit: Visit, **extra) -> dict:
    zone = services.branch_zone(visit.branch)
    now = timezone.now()
    local_today = timezone.localtime(now, zone).date()
    visit_day = timezone.localtime(visit.starts_at, zone).date()
    upcoming = visit.status in Visit.UPCOMING
    actions = []
    can_write = _can_write(request.user, visit.branch_id)
    if can_write:
        if visit.status == Visit.Status.SCHEDULED:
            actions.append(("confirm", _("Confirm"), "check2-circle", "outline-primary", ""))
        if upcoming and visit_day == local_today:
            early = visit.starts_at - now
            ask = ""
            if early > timedelta(minutes=settings.VISIT_EARLY_ARRIVAL_MINUTES):
                # 00:31 for a 09:00 visit is a slip of the finger, not an arrival
                ask = _("The visit is at %(time)s, %(hours)s h from now. Mark arrival anyway?") % {
                    "time": timezone.localtime(visit.starts_at, zone).strftime("%H:%M"),
                    "hours": f"{early.total_seconds() / 3600:.1f}",
                }
            actions.append(("arrive", _("Mark arrival"), "door-open", "success", ask))
        if visit.status == Visit.Status.ARRIVED:
            actions.append(("start", _("Start the visit"), "play-circle", "outline-success", ""))
        if upcoming and visit.starts_at <= now:
            actions.append(("no_show", _("Mark no-show"), "person-x", "outline-danger", ""))
    offers = []
    if can_write and visit.status in Visit.CANCELLED and visit.starts_at > now:
        offers = _freed_slot_offers(visit, zone)
    return {
        "visit": visit,
        "starts": timezone.localtime(visit.starts_at, zone),
        "ends": timezone.localtime(visit.ends_at, zone),
        "actions": actions,
        "offers": offers,
        "can_complete": (
            access.can_complete_visit(request.user, visit)
            and visit.status in (Visit.Status.ARRIVED, Visit.Status.IN_PROGRESS)
        ),
        "can_move": can_write and upcoming,
        "can_write": can_write,
        "undo": visit_undo_offer(user=request.user, visit=visit, now=now) if can_write else None,
        **extra,
    }


def _freed_slot_offers(visit: Visit, zone) -> list[dict]:
    """Who should get this freed slot — overdue stages first — each with a booking link."""
    from journeys.services.waitlist import slot_candidates

    local = timezone.localtime(visit.starts_at, zone)
    candidates = slot_candidates(
        branch_id=visit.branch_id,
        specialty=visit.service.specialty,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        doctor_id=visit.doctor_id,
        limit=5,
    )
    offers = []
    for candidate in candidates:
        if candidate.patient_id == visit.patient_id:
            continue
        params = {
            "branch": visit.branch_id,
            "doctor": visit.doctor_id,
            "service": visit.service_id,
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "patient": candidate.patient_id,
        }
        if candidate.stage_id:
            params["stage"] = candidate.stage_id
        offers.append(
            {
                "candidate": candidate,
                "url": reverse("journeys:visit_book") + "?" + urlencode(params),
            }
        )
    return offers


def _panel(
    request: HttpRequest, visit: Visit, *, notice: str = "", error: str = "", changed: bool = False
) -> HttpResponse:
    visit = selectors.visits_for_panel().get(pk=visit.pk)
    return _partial(
        request,
        "journeys/scheduling_visit_panel.html",
        _panel_context(request, visit, notice=notice, error=error),
        changed=changed,
    )


# --- calendar pages ---------------------------------------------------------------------


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
    return _vary(render(request, template, context))


@require_GET
@role_required(*READ_ROLES)
def calendar_week_view(request: HttpRequest) -> HttpResponse:
    branch, branches = _pick_branch(request)
    day = _pick_day(request, branch)
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
        "can_write": _can_write(request.user, branch.pk),
    }
    template = "journeys/calendar_week.html"
    if request.htmx and request.htmx.target == "week-grid":
        template = "journeys/calendar_week_grid.html"
    return _vary(render(request, template, context))


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


def _booking_for(request: HttpRequest, params) -> dict:
    """Patient, stage and handoff passed along from the routing queue (ids checked: the
    patient must be one the user may see, the stage and handoff the patient's)."""
    found: dict = {"params": {}}
    patient_id = params.get("patient", "")
    if not patient_id.isdigit() or int(patient_id) > MAX_ID:
        return found
    patient = (
        _bookable_patients(request).filter(pk=int(patient_id), merged_into__isnull=True).first()
    )
    if patient is None:
        return found
    found["patient"] = patient
    found["params"]["patient"] = patient.pk
    stage_id, handoff_id = params.get("stage", ""), params.get("handoff", "")
    if stage_id.isdigit() and int(stage_id) <= MAX_ID:
        stage = (
            Stage.objects.filter(pk=int(stage_id), option__plan__patient=patient)
            .select_related("specialty", "service")
            .first()
        )
        if stage is not None:
            found["stage"] = stage
            found["params"]["stage"] = stage.pk
    if handoff_id.isdigit() and int(handoff_id) <= MAX_ID:
        handoff = (
            Handoff.objects.filter(pk=int(handoff_id), patient=patient)
            .select_related("to_specialty")
            .first()
        )
        if handoff is not None:
            found["handoff"] = handoff
            found["params"]["handoff"] = handoff.pk
    return found


@require_GET
@role_required(*WRITE_ROLES)
def slot_search_view(request: HttpRequest) -> HttpResponse:
    """The slot finder: every free slot of a range of days (two weeks by default), by day
    and doctor, and each doctor's next available one; a slot opens the booking form."""
    branch, branches = _pick_branch(request)
    today = selectors.local_now(branch).date()
    params = request.GET.copy()
    params.setdefault("branch", str(branch.pk))
    params.setdefault("date", today.isoformat())
    # Coming from the routing queue: who is being booked, and for which stage or handoff.
    booking_for = _booking_for(request, params)
    if booking_for.get("patient") is not None:
        audit_record(
            action=AuditAction.READ,
            request=request,
            obj=booking_for["patient"],
            details={"page": "slot search"},
        )
    if booking_for.get("stage") and not params.get("service"):
        stage = booking_for["stage"]
        if stage.service_id:
            params["service"] = str(stage.service_id)
        params.setdefault("specialty", str(stage.specialty_id))
    # Until a service is chosen the form is only a prefilled form, not a wrong one.
    form = (
        SlotSearchForm(params, branches=branches, today=today)
        if params.get("service")
        else SlotSearchForm(initial=params.dict(), branches=branches, today=today)
    )
    found = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        first_day, last_day = form.days()
        starts_from, starts_before = form.day_part()
        found = slot_selectors.slot_search(
            branch=data["branch"],
            service=data["service"],
            first_day=first_day,
            last_day=last_day,
            doctor=data["doctor"],
            specialty=data["specialty"],
            starts_from=starts_from,
            starts_before=starts_before,
        )
    context = {
        "form": form,
        "found": found,
        "searched": found is not None,
        "branches": branches,
        "booking_for": booking_for,
        **(_slot_rows(form, found, booking_for["params"]) if found is not None else {}),
    }
    template = "journeys/scheduling_slots.html"
    if request.htmx and request.htmx.target == "slot-results":
        template = "journeys/scheduling_slots_results.html"
    return _vary(render(request, template, context))


def _slot_rows(form: SlotSearchForm, found, booking_params: dict) -> dict:
    """The found slots as the template prints them: labels and booking URLs made here,
    once per slot, in the branch's time zone (a month of a specialty is thousands of
    buttons; in a template loop each URL and time format costs many times more)."""
    data = form.cleaned_data
    zone = services.branch_zone(data["branch"])
    book_url = (
        reverse("journeys:visit_book")
        + "?"
        + urlencode({"branch": data["branch"].pk, "service": data["service"].pk, **booking_params})
        + "&"
    )

    def button(slot) -> dict:
        local = timezone.localtime(slot.starts_at, zone)
        label = local.strftime("%H:%M")
        query = urlencode(
            {"doctor": slot.doctor.pk, "date": local.date().isoformat(), "time": label}
        )
        return {"slot": slot, "local": local, "label": label, "url": book_url + query}

    days = [
        {
            "day": day.day,
            "count": day.count,
            "working": day.working,
            "doctors": [
                {"doctor": row.doctor, "slots": [button(s) for s in row.slots]}
                for row in day.doctors
            ],
        }
        for day in found.days
    ]
    next_available = [
        {"doctor": n.doctor, "slot": button(n.slot) if n.slot else None}
        for n in found.next_available
    ]
    return {"days": days, "next_available": next_available, "zone": zone}


# --- booking ----------------------------------------------------------------------------


def _bookable_patients(request: HttpRequest):
    return patients_visible(request.user)


def _selected_patient(request: HttpRequest, form: BookingForm):
    value = form.data.get("patient") if form.is_bound else form.initial.get("patient")
    if not str(value or "").isdigit() or int(value) > MAX_ID:
        return None
    return patient_search(patients=_bookable_patients(request)).filter(pk=int(value)).first()


def _booking_form(request: HttpRequest, data=None, *, initial=None) -> BookingForm:
    """The booking form, offering only the branches the user books at and the patients
    they may see."""
    source = data if data is not None else initial
    return BookingForm(
        data,
        initial=initial,
        branch=_branch_from(request, source),
        branches=access.branches_of(request.user),
        patients=_bookable_patients(request),
    )


def _booking_form_response(request: HttpRequest, form: BookingForm) -> HttpResponse:
    selected = _selected_patient(request, form)
    if selected is not None:
        audit_record(
            action=AuditAction.READ, request=request, obj=selected, details={"page": "booking"}
        )
    return _partial(
        request,
        "journeys/scheduling_book_form.html",
        {
            "form": form,
            "patients": [selected] if selected else [],
            "selected_patient": selected,
            "ends": end_preview(form),
            "zone_branch": _branch_from(request, form.data if form.is_bound else form.initial),
            "patient_q": (form.data if form.is_bound else form.initial).get("patient_q", ""),
        },
    )


def _branch_from(request: HttpRequest, data) -> Branch | None:
    value = str(data.get("branch") or "")
    if not value.isdigit() or int(value) > MAX_ID:
        return None
    return access.branches_of(request.user).filter(pk=int(value)).first()


@require_http_methods(["GET", "POST"])
@role_required(*WRITE_ROLES)
def visit_book_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _booking_form_response(request, _booking_form(request, initial=request.GET.dict()))

    form = _booking_form(request, request.POST)
    if form.is_valid() and not access.can_schedule_at(request.user, form.cleaned_data["branch"].pk):
        form.add_error("branch", _("Visits of this branch are booked by its own front desk."))
    if form.is_valid():
        data = form.cleaned_data
        try:
            visit = services.visit_book(
                actor=request.user,
                patient=data["patient"],
                doctor=data["doctor"],
                branch=data["branch"],
                service=data["service"],
                starts_at=form.starts_at(data["branch"]),
                stage=data["stage"],
                handoff=data["handoff"],
            )
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            return _panel(request, visit, notice=_("The visit is booked."), changed=True)
    return _booking_form_response(request, form)


@require_GET
@role_required(*WRITE_ROLES)
def patient_options_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("patient_q", "").strip()
    patients = (
        list(patient_search(query=query, patients=_bookable_patients(request))[:PATIENT_OPTIONS])
        if len(query) >= 2
        else []
    )
    audit_list_read(
        request=request, page="booking patient search", patient_ids=[p.pk for p in patients]
    )
    return render(
        request,
        "journeys/scheduling_patient_options.html",
        {"patients": patients, "query": query, "selected_patient": None},
    )


# --- the visit panel and its actions -----------------------------------------------------


@require_GET
@role_required(*READ_ROLES)
def visit_detail_partial_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_or_404(request, visit_id)
    return _partial(request, "journeys/scheduling_visit_panel.html", _panel_context(request, visit))


@require_POST
@role_required(*WRITE_ROLES)
def visit_status_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_or_404(request, visit_id, change=True)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _panel(request, visit, error=_("Unknown action."))
    to_status = STATUS_ACTIONS[form.cleaned_data["action"]]
    try:
        services.visit_transition(actor=request.user, visit=visit, to_status=to_status)
    except JourneyError as exc:
        return _panel(request, visit, error=str(exc), changed=True)
    return _panel(request, visit, notice=STATUS_NOTICE[to_status], changed=True)


def _move_form_response(request: HttpRequest, visit: Visit, form: MoveForm) -> HttpResponse:
    zone = services.branch_zone(visit.branch)
    data = form.data if form.is_bound else form.initial
    day = _safe_date(data.get("date")) or timezone.localtime(visit.starts_at, zone).date()
    doctor = next(
        (d for d in form.fields["doctor"].queryset if str(d.pk) == str(data.get("doctor"))),
        visit.doctor,
    )
    slots = slot_selectors.free_slots(
        branch=visit.branch,
        service=visit.service,
        day=day,
        doctor=doctor,
        limit=60,
        ignore_visit_id=visit.pk,
    )
    return _partial(
        request,
        "journeys/scheduling_move_form.html",
        {
            "visit": visit,
            "form": form,
            "slots": [
                {"time": timezone.localtime(s.starts_at, zone).strftime("%H:%M"), "slot": s}
                for s in slots
            ],
            "slot_day": day,
            "slot_doctor": doctor,
            "starts": timezone.localtime(visit.starts_at, zone),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(*WRITE_ROLES)
def visit_move_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_or_404(request, visit_id, change=True)
    if request.method == "GET":
        local = timezone.localtime(visit.starts_at, services.branch_zone(visit.branch))
        initial = {
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "doctor": visit.doctor_id,
        }
        initial.update({k: v for k, v in request.GET.items() if k in ("date", "doctor")})
        return _move_form_response(request, visit, MoveForm(initial=initial, branch=visit.branch))
    form = MoveForm(request.POST, branch=visit.branch)
    if form.is_valid() and request.POST.get("confirmed") != "1":
        # One look at old → new before anything changes, once the move is known to work:
        # it is tried in a savepoint that is then rolled back.
        try:
            with transaction.atomic():
                services.visit_move(
                    actor=request.user,
                    visit=visit,
                    starts_at=form.starts_at(visit.branch),
                    doctor=form.cleaned_data["doctor"],
                )
                raise _DryRun
        except _DryRun:
            pass
        except JourneyError as exc:
            form.add_error(None, str(exc))
            return _move_form_response(request, visit, form)
        visit.refresh_from_db()
        zone = services.branch_zone(visit.branch)
        return _partial(
            request,
            "journeys/scheduling_move_confirm.html",
            {
                "visit": visit,
                "old_starts": timezone.localtime(visit.starts_at, zone),
                "new_starts": timezone.localtime(form.starts_at(visit.branch), zone),
                "new_doctor": form.cleaned_data["doctor"] or visit.doctor,
                "data": {k: form.data.get(k, "") for k in ("date", "time", "doctor")},
            },
        )
    if form.is_valid():
        try:
            services.visit_move(
                actor=request.user,
                visit=visit,
                starts_at=form.starts_at(visit.branch),
                doctor=form.cleaned_data["doctor"],
            )
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            return _panel(request, visit, notice=_("The visit is moved."), changed=True)
    return _move_form_response(request, visit, form)


@require_http_methods(["GET", "POST"])
@role_required(*WRITE_ROLES)
def visit_cancel_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = _visit_or_404(request, visit_id, change=True)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_cancel(
                actor=request.user,
                visit=visit,
                by_patient=form.cleaned_data["by"] == CancelForm.BY_PATIENT,
                reason=form.cleaned_data["reason"],
            )
        except JourneyError as exc:
            form.add_error(None, str(exc))
        else:
            return _panel(request, visit, notice=_("The visit is cancelled."), changed=True)
    zone = services.branch_zone(visit.branch)
    return _partial(
        request,
        "journeys/scheduling_cancel_form.html",
        {"visit": visit, "form": form, "starts": timezone.localtime(visit.starts_at, zone)},
    )
