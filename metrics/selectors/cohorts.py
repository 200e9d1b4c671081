"""The cohort metrics (return rate, completion, dormant and reactivated patients, CLV…)
from the nightly snapshot (``metrics.cohorts``)."""

from __future__ import annotations

from django.db.models import Max, Q, Sum

from .. import formulas
from ..models import CohortFigure
from .filters import Filters

# Snapshots "as of today" rather than counts per month: shown whatever the period.
AS_OF = ("dormant", "reactivated")
_SHARES = {
    "return": formulas.return_rate,
    "completion": formulas.proportion,
    "dormant": formulas.dormant_share,
    "reactivated": formulas.reactivated_share,
    "recovery_return": formulas.recovered_return,
    "handoff": formulas.handoff_conversion,
    "funnel_accepted": formulas.proportion,
    "funnel_completed": formulas.proportion,
}
_MEANS = ("visits", "clv", "first_contact", "resurvey")


def cohort_figures(filters: Filters) -> dict[str, formulas.Figure]:
    """The cohort metrics for the months the period touches (the snapshot's latest month
    for the "as of today" ones), with the branch and doctor filters (the snapshot has no
    specialty or stage): two queries."""
    rows = CohortFigure.objects.all()
    if filters.branch_id is not None:
        rows = rows.filter(branch_id=filters.branch_id)
    if filters.doctor_id is not None:
        rows = rows.filter(doctor_id=filters.doctor_id)
    latest = CohortFigure.objects.filter(metric__in=AS_OF).aggregate(m=Max("month"))["m"]
    in_period = Q(month__gte=filters.start.replace(day=1), month__lte=filters.end) & ~Q(
        metric__in=AS_OF
    )
    sums = (
        rows.filter(in_period | Q(metric__in=AS_OF, month=latest))
        .values("metric")
        .annotate(hits=Sum("hits"), n=Sum("n"), total=Sum("total"), total_sq=Sum("total_sq"))
    )
    found = {row["metric"]: row for row in sums}
    result: dict[str, formulas.Figure] = {}
    for metric in CohortFigure.Metric.values:
        row = found.get(metric, {"hits": 0, "n": 0, "total": 0, "total_sq": 0})
        if metric in _MEANS:
            result[metric] = formulas.mean(row["total"], row["total_sq"], row["n"])
        else:
            result[metric] = _SHARES[metric](row["hits"], row["n"])
    return result
