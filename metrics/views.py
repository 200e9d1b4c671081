from __future__ import annotations

import json
from datetime import timedelta

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record
from clinic_crm.csv_export import csv_response
from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role

from .exports import dashboard_rows
from .forms import DashboardFilterForm, ReportFilterForm
from .selectors import Filters, dashboard_page, staff_report
from .trend import MONTH, WEEK, TrendPoint


def _trend_point(point: TrendPoint, bucket: str, min_sample: int) -> dict:
    """One bucket of the NPS trend as the chart draws it: a score, its interval and the
    shares only from the minimum sample, else a gap that says why."""
    figure = point.nps
    label = date_format(point.start, "M Y" if bucket == MONTH else "j M")
    row = {
        "label": label,
        "range": f"{date_format(point.start, 'SHORT_DATE_FORMAT')} – "
        f"{date_format(point.end, 'SHORT_DATE_FORMAT')}",
        "n": figure.n,
        "shown": point.shown,
        "note": "",
    }
    for key in ("value", "low", "high", "promoters", "passives", "detractors"):
        row[key] = getattr(figure, key) if point.shown else None
    if point.too_small:
        row["note"] = ngettext(
            "%(n)s answer: too few for a score (from %(min)s)",
            "%(n)s answers: too few for a score (from %(min)s)",
            figure.n,
        ) % {"n": figure.n, "min": min_sample}
    return row


def _chart_data(page) -> dict:
    """What the charts draw, with their labels in the reader's language (the page shows
    the same numbers as tables)."""
    trend = page.trend
    aspects = [
        {
            "name": a.name,
            "importance": a.importance,
            "satisfaction": a.satisfaction.value,
            "place": a.place,
        }
        for a in page.aspects
        if not a.satisfaction.empty
    ]
    return {
        "trend": {
            "bucket": trend.bucket,
            "points": []
            if trend.empty
            else [_trend_point(point, trend.bucket, trend.min_sample) for point in trend.points],
        },
        "aspects": aspects,
        "labels": {
            "nps": _("NPS by week") if trend.bucket == WEEK else _("NPS by month"),
            "band": _("Confidence interval"),
            "too_few": _("Too few answers"),
            "promoters": _("Promoters, %"),
            "passives": _("Passives, %"),
            "detractors": _("Detractors, %"),
            "importance": _("Importance"),
            "satisfaction": _("Satisfaction, %"),
        },
    }


def _with_default_period(query):
    """The last 12 months unless the period is given, shown in the date fields."""
    data = query.copy()
    end = timezone.localdate()
    data.setdefault("end", end.isoformat())
    data.setdefault("start", (end - timedelta(days=364)).isoformat())
    return data


def _page_from(form: DashboardFilterForm, **options):
    data = form.cleaned_data
    filters = Filters(
        start=data["start"],
        end=data["end"],
        branch_id=data["branch"].pk if data["branch"] else None,
        doctor_id=data["doctor"].pk if data["doctor"] else None,
        specialty_id=data["specialty"].pk if data["specialty"] else None,
        stage_kind=data["stage_kind"] or None,
    )
    return dashboard_page(filters, period=data["period"], **options)


@role_required(Role.MANAGER)
def dashboard_export_view(request: HttpRequest) -> HttpResponse:
    """The dashboard's figures as CSV (every ranked doctor, not only the first page's),
    audited as an export."""
    form = DashboardFilterForm(_with_default_period(request.GET))
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(form.non_field_errors()) or "bad filters")
    page = _page_from(form, all_doctors=True)
    response = csv_response(
        dashboard_rows(page), filename=f"loyalty-{page.filters.start}-{page.filters.end}.csv"
    )
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        details={
            "page": "loyalty dashboard",
            "filters": {k: str(v) for k, v in form.cleaned_data.items() if v},
        },
    )
    return response


@role_required(Role.MANAGER)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """Managers' loyalty dashboard: NPS, CSI and the journey figures by branch, doctor,
    stage and period, from rollups and nightly snapshots only."""
    form = DashboardFilterForm(_with_default_period(request.GET))
    page = None
    if form.is_valid():
        page = _page_from(form)
    charts = _chart_data(page) if page else None
    context = {"form": form, "page": page, "charts": charts, "charts_json": json.dumps(charts)}
    template = "metrics/dashboard_body.html" if request.htmx else "metrics/dashboard.html"
    return render(request, template, context)


@role_required(*Role.values)
def staff_report_view(request: HttpRequest) -> HttpResponse:
    """The figures every staff member may read: their branch's, and their own scorecard
    against it (doctors and curators). No one else's personal figures."""
    form = ReportFilterForm(_with_default_period(request.GET))
    report = None
    if form.is_valid():
        filters = Filters(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
        report = staff_report(request.user, filters)
    template = "metrics/report_body.html" if request.htmx else "metrics/report.html"
    return render(request, template, {"form": form, "report": report})
