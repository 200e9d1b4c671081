"""The manager dashboard's page data, assembled from the rollups and snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from clinic_crm.catalogue.models import Branch
from clinic_crm.staff.models import User
from feedback.models import CSI_SCALE_MAX

from .. import formulas
from ..models import MetricsSettings
from ..trend import AUTO, Trend, nps_trend
from .caching import kept_figures, rollup_state
from .channels import ChannelFigures, channel_figures
from .figures import Figures, csi_aspects
from .filters import Filters, this_week
from .league import LeagueRow, league_rows
from .reasons import top_reasons
from .recovery import recovered_by_resurvey, recovery_tasks

# The league lists the best-ranked doctors; a branch filter shows that branch's whole team.
LEAGUE_ROWS = 20


@dataclass
class AspectRow:
    key: str
    name: str
    importance: float
    satisfaction: formulas.Figure
    place: str = ""


@dataclass
class DashboardPage:
    filters: Filters
    period: str  # the series asked for: "auto", "week" or "month"
    figures: Figures
    trend: Trend
    cohorts: dict[str, formulas.Figure]
    csi: formulas.Figure
    aspects: list[AspectRow]
    doctors: list[LeagueRow]
    doctors_more: int  # ranked doctors beyond the ones listed
    branches: list[LeagueRow]
    reasons: list[tuple[str, int]]  # (reason, answers naming it)
    recovery_open: int
    recovery_overdue: int
    recovered: formulas.Figure  # asked again after the call, now 7–10
    channels: ChannelFigures  # the channel mix and the survey funnel
    min_sample: int
    as_of: datetime | None
    cohorts_as_of: datetime | None


def dashboard_page(
    filters: Filters, *, period: str = AUTO, all_doctors: bool = False
) -> DashboardPage:
    """Everything the manager dashboard shows, from rollups (this week's reasons too)
    and snapshots, with one live count (open and overdue recovery tasks, a state of now):
    a fixed number of queries whatever the data size. ``period`` is the NPS trend's
    bucket: "week", "month", or "auto" to choose by how many answers there are."""
    config = MetricsSettings.current()
    state, as_of = rollup_state()
    figures, cohorts = kept_figures(filters, state)
    attributes, weights = csi_aspects()
    scale = CSI_SCALE_MAX
    aspects = [
        AspectRow(
            key=attributes[pk].key,
            name=attributes[pk].name,
            importance=weights[pk],
            satisfaction=formulas.attribute_satisfaction(
                formulas.AttributeTotals(str(pk), weights[pk], *counts), scale
            ),
        )
        for pk, counts in sorted(figures.totals.attributes.items())
        if pk in attributes
    ]
    places = formulas.importance_satisfaction_quadrant(
        [
            (a.key, a.importance, a.satisfaction.value)
            for a in aspects
            if a.satisfaction.value is not None  # what Figure.empty tests
        ]
    )
    for aspect in aspects:
        aspect.place = places.get(aspect.key, "")
    doctor_names = {
        pk: User.name_of(*names)
        for pk, *names in User.objects.filter(
            pk__in=[pk for pk in figures.doctors if pk]
        ).values_list("pk", *User.NAME_COLUMNS)
    }
    branch_names = dict(
        Branch.objects.filter(pk__in=list(figures.branches)).values_list("pk", "name")
    )
    recovery = recovery_tasks(filters)
    doctors = league_rows(figures.doctors, doctor_names, config.min_sample)
    return DashboardPage(
        filters=filters,
        period=period,
        figures=figures,
        trend=nps_trend(
            start=filters.start,
            end=filters.end,
            weeks={day: totals.nps for day, totals in figures.weeks.items()},
            months={day: totals.nps for day, totals in figures.months.items()},
            bucket=period,
            min_sample=settings.METRICS_TREND_MIN_SAMPLE,
        ),
        cohorts=cohorts,
        csi=figures.totals.csi(weights, scale),
        aspects=aspects,
        doctors=doctors if all_doctors else doctors[:LEAGUE_ROWS],
        doctors_more=0 if all_doctors else max(len(doctors) - LEAGUE_ROWS, 0),
        branches=league_rows(figures.branches, branch_names, config.min_sample),
        reasons=top_reasons(this_week(filters)),
        recovery_open=recovery["open"],
        recovery_overdue=recovery["overdue"],
        recovered=recovered_by_resurvey(filters),
        channels=channel_figures(filters),
        min_sample=config.min_sample,
        as_of=as_of,
        cohorts_as_of=state.cohorts_at if state else None,
    )
