"""The dashboards' figures from the rollups.

:func:`dashboard_figures` computes everything a dashboard shows for a period and filters
— the totals, the weekly and the monthly series, the doctors' and branches' league — in
two queries (counts, then aspect answers), each one scan with GROUPING SETS. It reads the
rollup tables; with ``source="raw"`` the very same aggregation runs over the rows
computed straight from visits and responses, which is what a dashboard without rollups
would do on every page load (the benchmark's naive side, and the property test's
reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection

from feedback.models import CsiAttribute

from .. import formulas
from ..rollups import raw_rows_sql
from .filters import Filters


@dataclass
class Totals:
    visits_completed: int = 0
    visits_no_show: int = 0
    visits_cancelled: int = 0
    revenue: Decimal = Decimal(0)
    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    csi_responses: int = 0
    negative: int = 0
    negative_contacted_in_time: int = 0
    # aspect id → (answers, total, total_sq)
    attributes: dict[int, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def nps(self) -> formulas.NpsFigure:
        return formulas.nps(self.promoters, self.passives, self.detractors)

    @property
    def no_show_rate(self) -> formulas.Figure:
        return formulas.no_show_rate(self.visits_no_show, self.visits_completed)

    @property
    def contacted_within_sla(self) -> formulas.Figure:
        return formulas.contacted_within_sla(self.negative_contacted_in_time, self.negative)

    def csi(self, weights: dict[int, float], scale_max: int) -> formulas.Figure:
        return formulas.csi(
            [
                formulas.AttributeTotals(str(pk), weights.get(pk, 0), *self.attributes[pk])
                for pk in sorted(self.attributes)
            ],
            scale_max,
            self.csi_responses,
        )


COUNTS = [f.name for f in fields(Totals) if f.name != "attributes"]


@dataclass
class Figures:
    totals: Totals = field(default_factory=Totals)
    weeks: dict[date, Totals] = field(default_factory=dict)  # a Monday → its totals
    months: dict[date, Totals] = field(default_factory=dict)  # a month's first day → …
    doctors: dict[int | None, Totals] = field(default_factory=dict)
    branches: dict[int, Totals] = field(default_factory=dict)


# A period rollup's bucket lies inside one week and one month, so both series come from
# its first day as from a daily row's day.
_FIGURES = """
SELECT GROUPING(week) AS g_week, GROUPING(month) AS g_month, GROUPING(doctor_id) AS g_doctor,
       GROUPING(branch_id) AS g_branch, week, month, doctor_id, branch_id, {sums}
FROM (SELECT date_trunc('week', day)::date AS week, date_trunc('month', day)::date AS month,
             x.* FROM {source} x WHERE {where}) y
GROUP BY GROUPING SETS ((), (week), (month), (doctor_id), (branch_id))
"""

_ASPECTS = """
SELECT GROUPING(doctor_id) AS g_doctor, GROUPING(branch_id) AS g_branch,
       attribute_id, doctor_id, branch_id, sum(answers), sum(total), sum(total_sq)
FROM {source} x WHERE {where}
GROUP BY GROUPING SETS ((attribute_id), (attribute_id, doctor_id), (attribute_id, branch_id))
"""


_GROUP_COLUMNS = "day, branch_id, doctor_id, specialty_id, stage_kind"


def _boundary_on_or_after(day: date) -> date:
    """The first bucket boundary (a Monday or a month's first day) on or after ``day``."""
    monday = day + timedelta(days=-day.weekday() % 7)
    first = day if day.day == 1 else (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return min(monday, first)


def _boundary_on_or_before(day: date) -> date:
    return max(day - timedelta(days=day.weekday()), day.replace(day=1))


def _rollup_sources(filters: Filters) -> tuple[str, str, dict[str, date]]:
    """Whole buckets inside the period from the period rollups, the days at its edges
    from the daily ones."""
    start, end = filters.start, filters.end + timedelta(days=1)
    full_from, full_to = _boundary_on_or_after(start), _boundary_on_or_before(end)
    if full_from >= full_to:
        return "metrics_dailyrollup", "metrics_dailyattributerollup", {}
    counts = ", ".join(COUNTS)
    aspects = "attribute_id, answers, total, total_sq"
    # Each part a plain day range, so that each reads only its days from the day index
    # (an OR of the two edges would make PostgreSQL read the whole period's daily rows).
    inside = "day >= %(full_from)s AND day < %(full_to)s"
    before = "day >= %(start)s AND day < %(full_from)s"
    after = "day >= %(full_to)s AND day < %(end)s"

    def union(period_table: str, daily_table: str, columns: str) -> str:
        return (
            f"(SELECT {_GROUP_COLUMNS}, {columns} FROM {period_table} WHERE {inside}"  # noqa: S608
            f" UNION ALL SELECT {_GROUP_COLUMNS}, {columns} FROM {daily_table} WHERE {before}"
            f" UNION ALL SELECT {_GROUP_COLUMNS}, {columns} FROM {daily_table} WHERE {after})"
        )

    return (
        union("metrics_periodrollup", "metrics_dailyrollup", counts),
        union("metrics_periodattributerollup", "metrics_dailyattributerollup", aspects),
        {"full_from": full_from, "full_to": full_to},
    )


def dashboard_figures(filters: Filters, *, source: str = "rollups") -> Figures:
    """Totals, the series by week and by month, and the league by doctor and by branch,
    for the filters. Two queries whatever the data size."""
    where, params = filters.where()
    if source == "rollups":
        counts_source, aspects_source, extra = _rollup_sources(filters)
        params |= extra
    elif source == "raw":
        raw_counts, raw_aspects = raw_rows_sql()
        counts_source, aspects_source = f"({raw_counts})", f"({raw_aspects})"
    else:
        raise ValueError(f"unknown source {source!r}")
    figures = Figures()
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    with connection.cursor() as cursor:
        cursor.execute(
            _FIGURES.format(sums=sums, source=counts_source, where=where),
            params,
        )
        for row in cursor.fetchall():
            g_week, g_month, g_doctor, g_branch, week, month, doctor, branch, *values = row
            # A database row's sums: ints, and a Decimal for the revenue.
            counts: dict[str, Any] = {n: v or 0 for n, v in zip(COUNTS, values, strict=True)}
            totals = Totals(**counts)
            if not g_week:
                figures.weeks[week] = totals
            elif not g_month:
                figures.months[month] = totals
            elif not g_doctor:
                figures.doctors[doctor] = totals
            elif not g_branch:
                figures.branches[branch] = totals
            else:
                figures.totals = totals
        cursor.execute(_ASPECTS.format(source=aspects_source, where=where), params)
        for (
            g_doctor,
            g_branch,
            aspect,
            doctor,
            branch,
            answers,
            total,
            total_sq,
        ) in cursor.fetchall():
            if not g_doctor:
                group = figures.doctors.setdefault(doctor, Totals())
            elif not g_branch:
                group = figures.branches.setdefault(branch, Totals())
            else:
                group = figures.totals
            group.attributes[aspect] = (answers, total, total_sq)
    return figures


def csi_aspects() -> tuple[dict[int, CsiAttribute], dict[int, float]]:
    """The CSI aspects by id, and their importance weights."""
    attributes = {a.pk: a for a in CsiAttribute.objects.all()}
    return attributes, {pk: float(a.importance) for pk, a in attributes.items()}
