"""Benchmark of the loyalty metrics against the large data set.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python manage.py migrate && \\
        .venv/bin/python manage.py seed_demo --patients 1000000     # once, ~20 min
    .venv/bin/python bench/metrics.py

Figures, each measured in the same run as what it is compared with:

1. Dashboard figures for the last 12 months — totals, weekly series, the doctors' and
   branches' league, CSI aspects (``dashboard_figures``, two queries) — from the rollups,
   against the same aggregation over rows computed straight from visits, responses and
   answers (what a dashboard without rollups would run): p50/p95 of RUNS calls each, and
   the ratio. Also with a doctor filter, and this week's top reasons (rollups against
   the answers' own tags). The same figures read back from the cache, as the page finds
   them until the rollups change.
2. Incremental update after one response: recording an answer to a completed visit and
   refreshing the doctor-day it queued, each inside a transaction that is rolled back
   (nothing stays): p50/p95 of the refresh alone and of answer + refresh.
3. The full rebuild: seconds, and rollup rows (and raw rows read) per second.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # production settings

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from feedback.models import Response, Survey  # noqa: E402
from feedback.services import survey_response_record  # noqa: E402
from journeys.models import Visit  # noqa: E402
from metrics.models import DailyRollup, RollupState  # noqa: E402
from metrics.rollups import _refresh_batch, rollups_rebuild  # noqa: E402
from metrics.selectors import (  # noqa: E402
    Filters,
    dashboard_figures,
    this_week,
    top_reasons,
)
from metrics.selectors.caching import kept_figures  # noqa: E402

RUNS = int(os.environ.get("BENCH_METRICS_RUNS", 30))
RAW_RUNS = int(os.environ.get("BENCH_METRICS_RAW_RUNS", 5))
ANSWERS = int(os.environ.get("BENCH_METRICS_ANSWERS", 50))


def say(text: str) -> None:
    print(text, flush=True)


def timed(call, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]
    )


def describe(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.1f} ms, p95 {p95(values):7.1f} ms"


def measure_dashboard(filters: Filters, label: str) -> tuple[float, float]:
    with CaptureQueriesContext(connection) as queries:
        figures = dashboard_figures(filters)
    dashboard_figures(filters)  # warm
    rollup = timed(lambda: dashboard_figures(filters), RUNS)
    raw = timed(lambda: dashboard_figures(filters, source="raw"), RAW_RUNS)
    assert dashboard_figures(filters, source="raw") == figures, "rollups disagree with raw rows"
    say(
        f"{label}: {figures.totals.responses:,} responses, {figures.totals.visits_completed:,} "
        f"visits, {len(figures.weeks)} weeks, {len(figures.doctors)} doctors; "
        f"{len(queries.captured_queries)} queries\n"
        f"  rollups {describe(rollup)}\n  raw     {describe(raw)}\n"
        f"  ratio raw / rollups (p95) {p95(raw) / p95(rollup):,.0f}×"
    )
    return p95(rollup), p95(raw)


def measure_reasons(filters: Filters) -> tuple[float, float]:
    week = this_week(filters)
    reasons = top_reasons(week)
    assert top_reasons(week, source="raw") == reasons, "reason rollups disagree with raw rows"
    rollup = timed(lambda: top_reasons(week), RUNS)
    raw = timed(lambda: top_reasons(week, source="raw"), RAW_RUNS)
    say(
        f"this week's top reasons: {sum(n for _name, n in reasons):,} mentions among the top "
        f"{len(reasons)}\n  rollups {describe(rollup)}\n  raw     {describe(raw)}"
    )
    return p95(rollup), p95(raw)


def measure_kept(filters: Filters) -> float:
    """Figures and cohort figures read back from the cache, as a second manager's page
    load finds them until the rollups change."""
    state = RollupState.objects.get(pk=1)
    kept_figures(filters, "week", state)
    kept = timed(lambda: kept_figures(filters, "week", state), RUNS)
    say(f"kept figures (cache hit): {describe(kept)}")
    return p95(kept)


def measure_incremental() -> tuple[list[float], list[float]]:
    survey = Survey.objects.get(kind=Survey.Kind.VISIT, is_active=True)
    visits = list(
        Visit.objects.filter(
            status=Visit.Status.COMPLETED,
            starts_at__gte=timezone.now() - timedelta(days=60),
            responses=None,
        )
        .select_related("branch", "service", "stage")
        .order_by("-id")[:ANSWERS]
    )
    refresh, whole = [], []
    for visit in visits:
        with transaction.atomic():
            started = time.perf_counter()
            survey_response_record(survey=survey, visit=visit, channel="sms", nps_score=3)
            answered = time.perf_counter()
            done = _refresh_batch(500)
            finished = time.perf_counter()
            assert done >= 1
            refresh.append((finished - answered) * 1000)
            whole.append((finished - started) * 1000)
            transaction.set_rollback(True)
    return refresh, whole


def main() -> None:
    today = timezone.localdate()
    year = Filters(start=today - timedelta(days=365), end=today)
    say(
        f"data: {Visit.objects.count():,} visits, {Response.objects.count():,} responses, "
        f"{DailyRollup.objects.count():,} rollup rows"
    )
    rollup_p95, raw_p95 = measure_dashboard(year, "manager dashboard, 12 months")
    doctor = DailyRollup.objects.filter(day__gte=year.start).values_list("doctor_id", flat=True)[0]
    doctor_rollup, doctor_raw = measure_dashboard(
        Filters(start=year.start, end=year.end, doctor_id=doctor), "one doctor, 12 months"
    )
    reasons_rollup, reasons_raw = measure_reasons(year)
    kept = measure_kept(year)
    refresh, whole = measure_incremental()
    say(
        f"incremental, {len(refresh)} answers: refresh {describe(refresh)}; "
        f"answer + refresh {describe(whole)}"
    )
    result = rollups_rebuild()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM journeys_visit)"
            " + (SELECT count(*) FROM feedback_response)"
        )
        raw_rows = cursor.fetchone()[0]
    say(
        f"full rebuild: {result.seconds:.1f} s, {result.rows:,} rollup rows "
        f"({result.rows / result.seconds:,.0f} rows/s), {raw_rows:,} visits + responses read "
        f"({raw_rows / result.seconds:,.0f} rows/s)"
    )
    print(
        "\n| figure | rollups | raw rows | ratio |\n| --- | ---: | ---: | ---: |\n"
        f"| dashboard figures, 12 months, p95 | {rollup_p95:.1f} ms | {raw_p95:,.0f} ms | "
        f"{raw_p95 / rollup_p95:,.0f}× |\n"
        f"| one doctor, 12 months, p95 | {doctor_rollup:.1f} ms | {doctor_raw:,.0f} ms | "
        f"{doctor_raw / doctor_rollup:,.0f}× |\n"
        f"| this week's top reasons, p95 | {reasons_rollup:.1f} ms | {reasons_raw:,.1f} ms | "
        f"{reasons_raw / reasons_rollup:,.0f}× |\n"
        f"| figures kept in the cache, 12 months, p95 | {kept:.1f} ms | | |\n"
        f"| refresh after one answer, p95 | {p95(refresh):.1f} ms | | |\n"
        f"| full rebuild | {result.seconds:.1f} s, {result.rows / result.seconds:,.0f} rows/s | | |"
    )


if __name__ == "__main__":
    main()
