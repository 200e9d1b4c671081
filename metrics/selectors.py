"""Reads for the dashboards: sums over rollup rows for a period and filters, and the same
sums computed directly from raw visits and responses (what a dashboard without rollups
would have to do: the benchmark's naive side and the property test's reference)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from django.db import connection

from . import formulas
from .models import DailyAttributeRollup, DailyRollup


@dataclass(frozen=True)
class Filters:
    start: date  # first day shown
    end: date  # last day shown (inclusive)
    branch_id: int | None = None
    doctor_id: int | None = None
    specialty_id: int | None = None
    stage_kind: str | None = None

    def rollup_kwargs(self) -> dict:
        kwargs = {"day__gte": self.start, "day__lte": self.end}
        for name in ("branch_id", "doctor_id", "specialty_id", "stage_kind"):
            if getattr(self, name) is not None:
                kwargs[name] = getattr(self, name)
        return kwargs


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
    # attribute id → (answers, total, total_sq)
    attributes: dict = field(default_factory=dict)

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


def totals_from_rollups(filters: Filters) -> Totals:
    """The period's sums, from rollup rows only (two queries whatever the data size)."""
    from django.db.models import Sum

    sums = DailyRollup.objects.filter(**filters.rollup_kwargs()).aggregate(
        **{name: Sum(name) for name in COUNTS}
    )
    totals = Totals(**{name: sums[name] or 0 for name in COUNTS})
    for pk, answers, total, total_sq in (
        DailyAttributeRollup.objects.filter(**filters.rollup_kwargs())
        .values("attribute_id")
        .annotate(a=Sum("answers"), t=Sum("total"), s=Sum("total_sq"))
        .values_list("attribute_id", "a", "t", "s")
    ):
        totals.attributes[pk] = (answers, total, total_sq)
    return totals


def _raw_filters(filters: Filters, alias: str, day: str) -> tuple[str, dict]:
    where = [f"{day} >= %(start)s", f"{day} <= %(end)s"]
    params: dict = {"start": filters.start, "end": filters.end}
    for name, column in (
        ("branch_id", "branch_id"),
        ("doctor_id", "doctor_id"),
    ):
        if getattr(filters, name) is not None:
            where.append(f"{alias}.{column} = %({name})s")
            params[name] = getattr(filters, name)
    return " AND ".join(where), params


def totals_direct(filters: Filters) -> Totals:
    """The same sums straight from visits, responses and answers (no rollups)."""
    visit_day = "(v.starts_at AT TIME ZONE b.time_zone)::date"
    stage_kind = (
        "CASE WHEN v.stage_id IS NULL THEN 'none'"
        " WHEN st.significant THEN 'significant' ELSE 'stage' END"
    )
    where, params = _raw_filters(filters, "v", visit_day)
    if filters.specialty_id is not None:
        where += " AND s.specialty_id = %(specialty_id)s"
        params["specialty_id"] = filters.specialty_id
    if filters.stage_kind is not None:
        where += f" AND {stage_kind} = %(stage_kind)s"
        params["stage_kind"] = filters.stage_kind
    totals = Totals()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FILTER (WHERE v.status = 'completed'),
                   count(*) FILTER (WHERE v.status = 'no_show'),
                   count(*) FILTER (WHERE v.status IN ('cancelled_by_patient',
                                                       'cancelled_by_clinic')),
                   COALESCE(sum(COALESCE(v.price_charged, 0))
                            FILTER (WHERE v.status = 'completed'), 0)
            FROM journeys_visit v
            JOIN journeys_branch b ON b.id = v.branch_id
            JOIN journeys_service s ON s.id = v.service_id
            LEFT JOIN journeys_stage st ON st.id = v.stage_id
            WHERE {where}
            """,  # noqa: S608 - only the fixed filter text above is formatted in
            params,
        )
        (
            totals.visits_completed,
            totals.visits_no_show,
            totals.visits_cancelled,
            totals.revenue,
        ) = cursor.fetchone()
        where, params = _raw_filters(filters, "r", "r.day")
        for name in ("specialty_id", "stage_kind"):
            if getattr(filters, name) is not None:
                where += f" AND r.{name} = %({name})s"
                params[name] = getattr(filters, name)
        cursor.execute(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE r.nps_score >= 9),
                   count(*) FILTER (WHERE r.nps_score BETWEEN 7 AND 8),
                   count(*) FILTER (WHERE r.nps_score <= 6),
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM feedback_attributeanswer a WHERE a.response_id = r.id)),
                   count(*) FILTER (WHERE r.negative),
                   count(*) FILTER (WHERE r.negative AND t.state = 'done'
                                    AND t.closed_at <= r.submitted_at + interval '24 hours')
            FROM feedback_response r
            LEFT JOIN journeys_task t ON t.id = r.recovery_task_id
            WHERE {where}
            """,  # noqa: S608 - only the fixed filter text above is formatted in
            params,
        )
        (
            totals.responses,
            totals.promoters,
            totals.passives,
            totals.detractors,
            totals.csi_responses,
            totals.negative,
            totals.negative_contacted_in_time,
        ) = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT a.attribute_id, count(*), sum(a.score), sum(a.score * a.score)
            FROM feedback_response r JOIN feedback_attributeanswer a ON a.response_id = r.id
            WHERE {where}
            GROUP BY a.attribute_id
            """,  # noqa: S608
            params,
        )
        for pk, answers, total, total_sq in cursor.fetchall():
            totals.attributes[pk] = (answers, total, total_sq)
    return totals
