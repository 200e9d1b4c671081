"""The NPS trend: the period cut into weeks or months, each with its score only when it
stands on enough answers.

A week with three answers swings from −100 to +100 and tells a manager nothing, so a
bucket below the minimum sample (``METRICS_TREND_MIN_SAMPLE``) keeps its count but not its
score: the chart leaves a gap there and the table says "too few answers". Every shown
score carries its 95 % interval (:func:`metrics.formulas.nps`), drawn as a band.

The bucket is chosen by how much data there is, unless the manager chose one: months
when the period is longer than :data:`LONG_PERIOD_DAYS`, or when most of its weeks would
fall below the minimum; weeks otherwise. The functions here take the figures per bucket
(from :func:`metrics.selectors.dashboard_figures`) and read nothing themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from .formulas import NpsFigure

WEEK, MONTH, AUTO = "week", "month", "auto"
BUCKETS = (WEEK, MONTH)
# Longer than about six months, weekly points are too many to read: months.
LONG_PERIOD_DAYS = 183

# Why the bucket is what it is (the page says it in words).
CHOSEN = "chosen"  # the manager asked for it
LONG = "long"  # months: the period is long
SPARSE = "sparse"  # months: most weeks fall below the minimum sample
ENOUGH = "enough"  # weeks: most weeks reach the minimum sample


@dataclass(frozen=True)
class TrendPoint:
    start: date  # the bucket's first day inside the period
    end: date  # its last day inside the period
    nps: NpsFigure  # its answers, whatever their number
    shown: bool  # at or above the minimum sample: the score may be read

    @property
    def too_small(self) -> bool:
        """Answers there are, but too few to show a score from."""
        return self.nps.n > 0 and not self.shown


@dataclass(frozen=True)
class Trend:
    bucket: str  # WEEK or MONTH
    reason: str  # CHOSEN, LONG, SPARSE or ENOUGH
    min_sample: int
    points: tuple[TrendPoint, ...]

    @property
    def empty(self) -> bool:
        """No NPS answer in the whole period under these filters."""
        return not any(point.nps.n for point in self.points)

    @property
    def shown(self) -> int:
        return sum(point.shown for point in self.points)


def bucket_start(day: date, bucket: str) -> date:
    """The Monday of ``day``'s week, or the first of its month (PostgreSQL's
    ``date_trunc``, which the rollup query groups by)."""
    if bucket == WEEK:
        return day - timedelta(days=day.weekday())
    if bucket == MONTH:
        return day.replace(day=1)
    raise ValueError(f"unknown bucket {bucket!r}")


def _next_start(start: date, bucket: str) -> date:
    if bucket == WEEK:
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def bucket_spans(start: date, end: date, bucket: str) -> list[tuple[date, date, date]]:
    """Every bucket the period touches, empty ones included, as (the bucket's key — its
    Monday or first day —, first day inside the period, last day inside the period)."""
    spans = []
    key = bucket_start(start, bucket)
    while key <= end:
        following = _next_start(key, bucket)
        spans.append((key, max(key, start), min(following - timedelta(days=1), end)))
        key = following
    return spans


def choose_bucket(
    start: date, end: date, weeks: Mapping[date, NpsFigure], min_sample: int
) -> tuple[str, str]:
    """(bucket, reason): months for a period longer than :data:`LONG_PERIOD_DAYS` or
    when more than half of its weeks (empty ones included) have fewer than
    ``min_sample`` answers; weeks otherwise."""
    if (end - start).days + 1 > LONG_PERIOD_DAYS:
        return MONTH, LONG
    spans = bucket_spans(start, end, WEEK)
    short = sum(
        1 for key, _first, _last in spans if (weeks.get(key) or NpsFigure(None, 0)).n < min_sample
    )
    if 2 * short > len(spans):
        return MONTH, SPARSE
    return WEEK, ENOUGH


def nps_trend(
    *,
    start: date,
    end: date,
    weeks: Mapping[date, NpsFigure],
    months: Mapping[date, NpsFigure],
    bucket: str = AUTO,
    min_sample: int,
) -> Trend:
    """The trend over the period from its NPS per week and per month (keyed by the
    bucket's Monday or first day), in ``bucket`` ("week", "month", or "auto" to choose
    by :func:`choose_bucket`). A bucket is shown from ``min_sample`` answers on (at least
    one)."""
    min_sample = max(min_sample, 1)
    if bucket == AUTO:
        bucket, reason = choose_bucket(start, end, weeks, min_sample)
    elif bucket in BUCKETS:
        reason = CHOSEN
    else:
        raise ValueError(f"unknown bucket {bucket!r}")
    figures = weeks if bucket == WEEK else months
    points = []
    for key, first, last in bucket_spans(start, end, bucket):
        figure = figures.get(key) or NpsFigure(value=None, n=0)
        shown = figure.n >= min_sample and figure.value is not None
        points.append(TrendPoint(start=first, end=last, nps=figure, shown=shown))
    return Trend(bucket=bucket, reason=reason, min_sample=min_sample, points=tuple(points))
