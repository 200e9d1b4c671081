"""Managers' pages of the weekly pattern report: the weeks built so far, one week, and
building the current week on demand."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.db.models import IntegerField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from clinic_crm.staff.access import role_required
from clinic_crm.staff.roles import Role

from .models import WeeklyReasonReport
from .weekly_report import report_context, week_start_of, weekly_report_build

LISTED_WEEKS = 104  # two years of Mondays


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def weekly_list_view(request: HttpRequest) -> HttpResponse:
    """The weeks reported, newest first, with their answers and flagged changes (one
    query: the figures' totals read inside the database, not the stored rows). POST
    builds the current week now and opens it."""
    if request.method == "POST":
        report = weekly_report_build(week_start_of(timezone.localdate()))
        messages.success(request, _("This week's report was built again."))
        return HttpResponseRedirect(
            reverse("metrics:weekly_detail", args=[report.week_start.isoformat()])
        )
    reports = list(
        WeeklyReasonReport.objects.defer("data")
        .annotate(
            responses=Cast(KT("data__responses"), IntegerField()),
            flagged_up=Cast(KT("data__flagged_up"), IntegerField()),
            flagged_down=Cast(KT("data__flagged_down"), IntegerField()),
        )
        .order_by("-week_start")[:LISTED_WEEKS]
    )
    return render(request, "metrics/weekly_list.html", {"reports": reports})


@require_GET
@role_required(Role.MANAGER)
def weekly_detail_view(request: HttpRequest, week: str) -> HttpResponse:
    """One week's report (one query: the stored rows, shown in the reader's language)."""
    try:
        week_start = date.fromisoformat(week)
    except ValueError:
        raise Http404("not a date") from None
    report = get_object_or_404(WeeklyReasonReport, week_start=week_start)
    return render(request, "metrics/weekly_detail.html", report_context(report))
