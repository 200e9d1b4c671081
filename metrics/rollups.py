"""Keeping the rollups current.

- :func:`rollups_refresh` takes the doctor-days the triggers queued and recomputes each
  whole from the raw rows (delete the day's rows, insert them again): exact whatever
  happened — a visit moved to another day, cancelled, a response arriving weeks late —
  and idempotent. Celery runs it right after each change and every minute.
- :func:`rollups_rebuild` recomputes everything, a month at a time (nightly, and
  ``manage.py rebuild_metrics``).

Both compute rows with the same SQL (``_ROWS``), differing only in which visits and
responses they read. The clinic day of a visit is its date at the visit's branch.
Refreshes of the same doctor-day are serialized by advisory locks; a rebuild takes an
exclusive lock that refreshes share, so the two never interleave half-way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from clinic_crm.db import values_sql

from .models import RollupState

_LOCK_REBUILD = 0x6D657472  # "metr": held exclusively by a rebuild, shared by refreshes

_COUNTED = "('completed', 'no_show', 'cancelled_by_patient', 'cancelled_by_clinic')"

# Only constants are put into these statements by string formatting; values go as
# parameters or through psycopg2's own quoting (clinic_crm.db.values_sql).
_VISIT_ROWS = f"""
SELECT (v.starts_at AT TIME ZONE b.time_zone)::date AS day, v.branch_id, v.doctor_id,
       s.specialty_id,
       CASE WHEN v.stage_id IS NULL THEN 'none'
            WHEN st.significant THEN 'significant' ELSE 'stage' END AS stage_kind,
       (v.status = 'completed')::int AS visits_completed,
       (v.status = 'no_show')::int AS visits_no_show,
       (v.status IN ('cancelled_by_patient', 'cancelled_by_clinic'))::int AS visits_cancelled,
       CASE WHEN v.status = 'completed' THEN COALESCE(v.price_charged, 0) ELSE 0 END AS revenue,
       0 AS responses, 0 AS promoters, 0 AS passives, 0 AS detractors, 0 AS csi_responses,
       0 AS negative, 0 AS negative_contacted_in_time
FROM journeys_visit v
JOIN journeys_branch b ON b.id = v.branch_id
JOIN journeys_service s ON s.id = v.service_id
LEFT JOIN journeys_stage st ON st.id = v.stage_id
{{visit_join}}
WHERE v.status IN {_COUNTED} AND {{visit_where}}
"""  # noqa: S608

_RESPONSE_ROWS = """
SELECT r.day, r.branch_id, r.doctor_id, r.specialty_id, r.stage_kind,
       0, 0, 0, 0,
       1,
       COALESCE((r.nps_score >= 9)::int, 0),
       COALESCE((r.nps_score BETWEEN 7 AND 8)::int, 0),
       COALESCE((r.nps_score <= 6)::int, 0),
       EXISTS (SELECT 1 FROM feedback_attributeanswer a WHERE a.response_id = r.id)::int,
       r.negative::int,
       COALESCE((r.negative AND t.state = 'done'
                 AND t.closed_at <= r.submitted_at + interval '24 hours')::int, 0)
FROM feedback_response r
LEFT JOIN journeys_task t ON t.id = r.recovery_task_id
{response_join}
WHERE {response_where}
"""

_ROWS = f"""
INSERT INTO metrics_dailyrollup (
    day, branch_id, doctor_id, specialty_id, stage_kind,
    visits_completed, visits_no_show, visits_cancelled, revenue,
    responses, promoters, passives, detractors, csi_responses, negative,
    negative_contacted_in_time, computed_at)
SELECT day, branch_id, doctor_id, specialty_id, stage_kind,
       sum(visits_completed), sum(visits_no_show), sum(visits_cancelled), sum(revenue),
       sum(responses), sum(promoters), sum(passives), sum(detractors), sum(csi_responses),
       sum(negative), sum(negative_contacted_in_time), now()
FROM ({_VISIT_ROWS} UNION ALL {_RESPONSE_ROWS}) x
GROUP BY day, branch_id, doctor_id, specialty_id, stage_kind
"""  # noqa: S608

# A row per aspect answer and per reason named, with the rollup tables' columns: summed
# into the daily rollups here, and over raw rows by raw_rows_sql / raw_reasons_sql.
_ANSWER_ROWS = """
SELECT r.day, r.branch_id, r.doctor_id, r.specialty_id, r.stage_kind, a.attribute_id,
       1 AS answers, a.score AS total, a.score * a.score AS total_sq
FROM feedback_response r JOIN feedback_attributeanswer a ON a.response_id = r.id
{response_join}
WHERE {response_where}
"""

_NAMED_REASONS = """
SELECT r.day, r.branch_id, r.doctor_id, r.specialty_id, r.stage_kind, rr.reasontag_id AS reason_id,
       1 AS answers
FROM feedback_response r JOIN feedback_response_reasons rr ON rr.response_id = r.id
{response_join}
WHERE {response_where}
"""

_ATTRIBUTE_ROWS = f"""
INSERT INTO metrics_dailyattributerollup (
    day, branch_id, doctor_id, specialty_id, stage_kind, attribute_id, answers, total, total_sq)
SELECT day, branch_id, doctor_id, specialty_id, stage_kind, attribute_id,
       sum(answers), sum(total), sum(total_sq)
FROM ({_ANSWER_ROWS}) x
GROUP BY day, branch_id, doctor_id, specialty_id, stage_kind, attribute_id
"""  # noqa: S608 - constants only

_REASON_ROWS = f"""
INSERT INTO metrics_dailyreasonrollup (
    day, branch_id, doctor_id, specialty_id, stage_kind, reason_id, answers)
SELECT day, branch_id, doctor_id, specialty_id, stage_kind, reason_id, sum(answers)
FROM ({_NAMED_REASONS}) x
GROUP BY day, branch_id, doctor_id, specialty_id, stage_kind, reason_id
"""  # noqa: S608 - constants only

# The survey funnel by channel: invitations that went out (their visit's group, the
# channel their message went by) and the answers (by the channel they came by).
_INVITATION_ROWS = """
SELECT (v.starts_at AT TIME ZONE b.time_zone)::date AS day, v.branch_id, v.doctor_id,
       s.specialty_id,
       CASE WHEN v.stage_id IS NULL THEN 'none'
            WHEN st.significant THEN 'significant' ELSE 'stage' END AS stage_kind,
       m.channel, sv.kind AS survey_kind,
       1 AS invited, (m.delivery = 'delivered')::int AS delivered,
       (i.opened_at IS NOT NULL)::int AS opened, (i.answered_at IS NOT NULL)::int AS answered,
       0 AS responses, 0 AS promoters, 0 AS passives, 0 AS detractors
FROM feedback_surveyinvitation i
JOIN messaging_message m ON m.id = i.message_id AND m.status = 'sent'
JOIN feedback_survey sv ON sv.id = i.survey_id
JOIN journeys_visit v ON v.id = i.visit_id
JOIN journeys_branch b ON b.id = v.branch_id
JOIN journeys_service s ON s.id = v.service_id
LEFT JOIN journeys_stage st ON st.id = v.stage_id
{visit_join}
WHERE {visit_where}
"""

_CHANNEL_ANSWER_ROWS = """
SELECT r.day, r.branch_id, r.doctor_id, r.specialty_id, r.stage_kind, r.channel, sv.kind,
       0, 0, 0, 0,
       1,
       COALESCE((r.nps_score >= 9)::int, 0),
       COALESCE((r.nps_score BETWEEN 7 AND 8)::int, 0),
       COALESCE((r.nps_score <= 6)::int, 0)
FROM feedback_response r
JOIN feedback_survey sv ON sv.id = r.survey_id
{response_join}
WHERE {response_where}
"""

_CHANNEL_ROWS = f"""
INSERT INTO metrics_dailychannelrollup (
    day, branch_id, doctor_id, specialty_id, stage_kind, channel, survey_kind,
    invited, delivered, opened, answered, responses, promoters, passives, detractors)
SELECT day, branch_id, doctor_id, specialty_id, stage_kind, channel, survey_kind,
       sum(invited), sum(delivered), sum(opened), sum(answered),
       sum(responses), sum(promoters), sum(passives), sum(detractors)
FROM ({_INVITATION_ROWS} UNION ALL {_CHANNEL_ANSWER_ROWS}) x
GROUP BY day, branch_id, doctor_id, specialty_id, stage_kind, channel, survey_kind
"""  # noqa: S608 - constants only

_TABLES = (
    "metrics_dailyrollup",
    "metrics_dailyattributerollup",
    "metrics_dailyreasonrollup",
    "metrics_dailychannelrollup",
)
_PERIOD_TABLES = ("metrics_periodrollup", "metrics_periodattributerollup")

_COUNT_COLUMNS = (
    "visits_completed, visits_no_show, visits_cancelled, revenue, responses, promoters,"
    " passives, detractors, csi_responses, negative, negative_contacted_in_time"
)
_BUCKET = "greatest(date_trunc('week', d.day), date_trunc('month', d.day))::date"

# Buckets (a week's days within one month) summed from the daily rows.
_PERIOD_ROWS = f"""
INSERT INTO metrics_periodrollup (day, branch_id, doctor_id, specialty_id, stage_kind,
                                  {_COUNT_COLUMNS}, computed_at)
SELECT {_BUCKET}, d.branch_id, d.doctor_id, d.specialty_id, d.stage_kind,
       {", ".join(f"sum(d.{c.strip()})" for c in _COUNT_COLUMNS.split(","))}, now()
FROM metrics_dailyrollup d
{{join}}
WHERE {{where}}
GROUP BY 1, d.branch_id, d.doctor_id, d.specialty_id, d.stage_kind
"""  # noqa: S608 - constants only

_PERIOD_ASPECT_ROWS = f"""
INSERT INTO metrics_periodattributerollup (day, branch_id, doctor_id, specialty_id,
                                           stage_kind, attribute_id, answers, total, total_sq)
SELECT {_BUCKET}, d.branch_id, d.doctor_id, d.specialty_id, d.stage_kind, d.attribute_id,
       sum(d.answers), sum(d.total), sum(d.total_sq)
FROM metrics_dailyattributerollup d
{{join}}
WHERE {{where}}
GROUP BY 1, d.branch_id, d.doctor_id, d.specialty_id, d.stage_kind, d.attribute_id
"""  # noqa: S608 - constants only


def bucket_of(day: date) -> tuple[date, date]:
    """The bucket holding ``day``: from the later of its week's Monday and its month's
    first day, up to (not including) the earlier of the next Monday and next month."""
    monday = day - timedelta(days=day.weekday())
    first = day.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return max(monday, first), min(monday + timedelta(days=7), next_month)


def _period_compute(cursor, *, join: str, where: str, params: dict) -> None:
    cursor.execute(_PERIOD_ROWS.format(join=join, where=where), params)
    cursor.execute(_PERIOD_ASPECT_ROWS.format(join=join, where=where), params)


# Visits a little outside a day range may fall inside it at a far-off branch: read ±14 h
# around it by time (the index), then keep the rows whose branch date is inside.
_VISITS_BETWEEN = (
    "v.starts_at >= %(start)s::timestamp AT TIME ZONE 'UTC' - interval '14 hours'"
    " AND v.starts_at < %(end)s::timestamp AT TIME ZONE 'UTC' + interval '14 hours'"
    " AND (v.starts_at AT TIME ZONE b.time_zone)::date >= %(start)s"
    " AND (v.starts_at AT TIME ZONE b.time_zone)::date < %(end)s"
)
_RESPONSES_BETWEEN = "r.day >= %(start)s AND r.day < %(end)s"


def raw_reasons_sql() -> str:
    """The reasons named in the answers of the days from ``%(start)s`` up to (not
    including) ``%(end)s``, a row per answer and reason, with the reason rollup's
    columns."""
    return _NAMED_REASONS.format(response_join="", response_where=_RESPONSES_BETWEEN)


def raw_rows_sql() -> tuple[str, str]:
    """The rows a rollup sums, straight from visits and responses of the days from
    ``%(start)s`` up to (not including) ``%(end)s``: one query for the counts, one for
    the aspect answers, with the rollup tables' columns. What a dashboard without
    rollups would have to aggregate on every page load."""
    counts = (
        _VISIT_ROWS.format(visit_join="", visit_where=_VISITS_BETWEEN)
        + " UNION ALL "
        + _RESPONSE_ROWS.format(response_join="", response_where=_RESPONSES_BETWEEN)
    )
    answers = _ANSWER_ROWS.format(response_join="", response_where=_RESPONSES_BETWEEN)
    return counts, answers


def _compute(
    cursor,
    *,
    visit_join: str,
    visit_where: str,
    response_join: str,
    response_where: str,
    params: dict,
) -> None:
    parts = {
        "visit_join": visit_join,
        "visit_where": visit_where,
        "response_join": response_join,
        "response_where": response_where,
    }
    cursor.execute(_ROWS.format(**parts), params)
    cursor.execute(_ATTRIBUTE_ROWS.format(**parts), params)
    cursor.execute(_REASON_ROWS.format(**parts), params)
    cursor.execute(_CHANNEL_ROWS.format(**parts), params)


# --- Refresh of queued doctor-days -----------------------------------------------------

_CLAIM = """
DELETE FROM metrics_rollupdirty
WHERE id IN (
    SELECT id FROM metrics_rollupdirty ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
RETURNING doctor_id, day
"""

# The doctor-days as a VALUES list; visits are looked up by doctor and a window around
# the day wide enough for any zone (±14 h), then kept only where the branch's date matches.
_PAIRS = "(VALUES {values}) AS p(doctor_id, day)"
_PAIR_VISITS = (
    "v.doctor_id = p.doctor_id"
    " AND v.starts_at >= p.day::timestamp AT TIME ZONE 'UTC' - interval '14 hours'"
    " AND v.starts_at < (p.day + 1)::timestamp AT TIME ZONE 'UTC' + interval '14 hours'"
    " AND (v.starts_at AT TIME ZONE b.time_zone)::date = p.day"
)
_PAIR_RESPONSES = "r.doctor_id IS NOT DISTINCT FROM p.doctor_id AND r.day = p.day"


@dataclass
class RefreshResult:
    doctor_days: int = 0
    batches: int = 0


def _refresh_batch(limit: int) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_LOCK_REBUILD])
        cursor.execute(_CLAIM, {"limit": limit})
        pairs = sorted({(doctor, day) for doctor, day in cursor.fetchall()}, key=str)
        if not pairs:
            return 0
        source = _PAIRS.format(values=values_sql(cursor, "(%s::bigint, %s::date)", pairs))
        # One doctor-day at a time across refreshers, locked in a fixed order.
        lock = (
            "SELECT pg_advisory_xact_lock(hashtext('metrics:' || p.doctor_id || ':' || p.day))"
            " FROM {source} ORDER BY p.doctor_id NULLS FIRST, p.day"
        )
        cursor.execute(lock.format(source=source))
        for table in _TABLES:
            cursor.execute(
                f"DELETE FROM {table} d USING {source}"  # noqa: S608
                " WHERE d.day = p.day AND d.doctor_id IS NOT DISTINCT FROM p.doctor_id"
            )
        _compute(
            cursor,
            visit_join=f"JOIN {source} ON {_PAIR_VISITS}",
            visit_where="true",
            response_join=f"JOIN {source} ON {_PAIR_RESPONSES}",
            response_where="true",
            params={},
        )
        # The buckets those days belong to, summed again from the daily rows.
        buckets = sorted({(doctor, *bucket_of(day)) for doctor, day in pairs}, key=str)
        values = values_sql(cursor, "(%s::bigint, %s::date, %s::date)", buckets)
        source = f"(VALUES {values}) AS p(doctor_id, day, until)"
        for table in _PERIOD_TABLES:
            cursor.execute(
                f"DELETE FROM {table} d USING {source}"  # noqa: S608
                " WHERE d.day = p.day AND d.doctor_id IS NOT DISTINCT FROM p.doctor_id"
            )
        _period_compute(
            cursor,
            join=(
                f"JOIN {source} ON d.doctor_id IS NOT DISTINCT FROM p.doctor_id"
                " AND d.day >= p.day AND d.day < p.until"
            ),
            where="true",
            params={},
        )
        RollupState.touch(refreshed_at=timezone.now())
        return len(pairs)


def rollups_refresh(*, batch: int = 500, max_batches: int | None = None) -> RefreshResult:
    """Recomputes every queued doctor-day, ``batch`` queue entries per transaction."""
    result = RefreshResult()
    while max_batches is None or result.batches < max_batches:
        done = _refresh_batch(batch)
        if not done:
            break
        result.doctor_days += done
        result.batches += 1
    return result


# --- Full rebuild ----------------------------------------------------------------------


@dataclass
class RebuildResult:
    days: int
    rows: int
    seconds: float


def _month_starts(first: date, last: date):
    month = first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        yield month, following
        month = following


def rollups_rebuild(*, progress: Callable[[int, int], None] | None = None) -> RebuildResult:
    """Recomputes all rollups from the raw rows, one month per transaction (the dashboards
    go on reading the other months meanwhile). Entries queued for refresh stay queued:
    refreshing them afterwards recomputes the same figures and is harmless."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(d), max(d) FROM ("
            " SELECT min(starts_at)::date - 1 AS d FROM journeys_visit"
            " UNION ALL SELECT max(starts_at)::date + 1 FROM journeys_visit"
            " UNION ALL SELECT min(day) FROM feedback_response"
            " UNION ALL SELECT max(day) FROM feedback_response) x"
        )
        first, last = cursor.fetchone()
    months = list(_month_starts(first, last)) if first else []
    rows = 0
    for done, (start, end) in enumerate(months, start=1):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_REBUILD])
            for table in _TABLES:
                cursor.execute(
                    f"DELETE FROM {table} WHERE day >= %(start)s AND day < %(end)s",  # noqa: S608
                    {"start": start, "end": end},
                )
            params = {"start": start, "end": end}
            _compute(
                cursor,
                visit_join="",
                visit_where=_VISITS_BETWEEN,
                response_join="",
                response_where=_RESPONSES_BETWEEN,
                params=params,
            )
            for table in _PERIOD_TABLES:
                cursor.execute(
                    f"DELETE FROM {table} WHERE day >= %(start)s AND day < %(end)s",  # noqa: S608
                    params,
                )
            _period_compute(
                cursor, join="", where="d.day >= %(start)s AND d.day < %(end)s", params=params
            )
            cursor.execute(
                "SELECT count(*) FROM metrics_dailyrollup WHERE day >= %(start)s AND day < %(end)s",
                params,
            )
            rows += cursor.fetchone()[0]
            RollupState.touch()
        if progress is not None:
            progress(done, len(months))
    seconds = time.perf_counter() - started
    RollupState.touch(rebuilt_at=timezone.now(), rebuild_seconds=seconds)
    days = (months[-1][1] - months[0][0]).days if months else 0
    return RebuildResult(days=days, rows=rows, seconds=seconds)
