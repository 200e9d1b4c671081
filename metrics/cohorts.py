"""Cohort metrics, snapshotted nightly into CohortFigure rows (a metric × month × branch ×
doctor), because each depends on a patient's whole history rather than on one day.

Months are calendar months at the branch. Shares keep their numerator (``hits``) and
sample (``n``); means keep the sum and the sum of squares of their values (``total``,
``total_sq``) over ``n``. The formulas that turn them into figures are in ``formulas``.

- return: patients by the month of their first completed visit (its branch and doctor),
  once the return window has passed for them; hit: another completed visit within
  ``return_days``.
- visits: the same patients; value: completed visits within a year of the first.
- clv: patients by first-visit month; value: Σ over their completed visits of price ×
  (1 − cost share) / (1 + d)ᵗ, t = whole CLV periods since the first visit.
- completion: accepted plans by the month they ended (completed, or abandoned), plus the
  plans stalled now (an open "stalled journey" task) in the current month; hit: completed.
- dormant (as of today, current month, home branch): patients with a completed visit;
  hit: none for ``dormant_months`` and nothing booked.
- reactivated (as of today, current month, home branch): patients who have ever been
  dormant (a gap of ``dormant_months`` between visits, or one running now); hit: they
  booked again after such a gap.
- recovery_return: negative answers by month, branch, doctor; hit: the patient had a
  completed visit after answering.
- resurvey: negative answers (with an NPS score) whose patient answered again later, by
  the month of the negative one; value: NPS points gained at the next answer.
- handoff: handoffs by the month they were made, branch, referring doctor; hit: booked
  or completed.
- first_contact: closed booking requests by month; value: hours from request to closing.
- funnel_accepted, funnel_completed: patients by first-visit month; hit: they have
  accepted a treatment plan / completed one (the loyalty funnel's middle steps; its last
  step is the return rate).
"""

from __future__ import annotations

import time
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from .models import CohortFigure, MetricsSettings, RollupState

_FIRSTS = """
DROP TABLE IF EXISTS metrics_firsts, metrics_patients;
CREATE TEMP TABLE metrics_firsts ON COMMIT DROP AS
SELECT DISTINCT ON (v.patient_id) v.patient_id, v.starts_at, v.branch_id, v.doctor_id,
       b.time_zone
FROM journeys_visit v JOIN journeys_branch b ON b.id = v.branch_id
WHERE v.status = 'completed'
ORDER BY v.patient_id, v.starts_at
"""

# Per patient: returned within the window, visits in the first year, discounted margin.
_PER_PATIENT = """
CREATE TEMP TABLE metrics_patients ON COMMIT DROP AS
SELECT f.patient_id, f.branch_id, f.doctor_id,
       date_trunc('month', f.starts_at AT TIME ZONE f.time_zone)::date AS month,
       f.starts_at <= %(now)s - make_interval(days => %(return_days)s) AS mature,
       bool_or(v.starts_at > f.starts_at
               AND v.starts_at <= f.starts_at + make_interval(days => %(return_days)s))
           AS returned,
       count(*) FILTER (WHERE v.starts_at < f.starts_at + interval '365 days') AS first_year,
       sum(COALESCE(v.price_charged, 0)::float8
           * (1 - COALESCE(s.cost_share, %(cost_share)s)::float8)
           / power(1 + %(discount)s::float8,
                   floor((extract(year FROM age(v.starts_at, f.starts_at)) * 12
                          + extract(month FROM age(v.starts_at, f.starts_at)))
                         / %(period_months)s))) AS clv
FROM metrics_firsts f
JOIN journeys_visit v ON v.patient_id = f.patient_id AND v.status = 'completed'
JOIN journeys_service s ON s.id = v.service_id
GROUP BY f.patient_id, f.branch_id, f.doctor_id, f.starts_at, f.time_zone
"""

_FROM_PATIENTS = """
INSERT INTO metrics_cohortfigure (metric, month, branch_id, doctor_id, hits, n, total,
                                  total_sq, computed_at)
SELECT 'return', month, branch_id, doctor_id, count(*) FILTER (WHERE returned), count(*), 0, 0,
       %(now)s
FROM metrics_patients WHERE mature GROUP BY month, branch_id, doctor_id
UNION ALL
SELECT 'visits', month, branch_id, doctor_id, 0, count(*), sum(first_year),
       sum(first_year * first_year), %(now)s
FROM metrics_patients WHERE mature GROUP BY month, branch_id, doctor_id
UNION ALL
SELECT 'clv', month, branch_id, doctor_id, 0, count(*), sum(clv), sum(clv * clv), %(now)s
FROM metrics_patients GROUP BY month, branch_id, doctor_id
UNION ALL
SELECT m.metric, p.month, p.branch_id, p.doctor_id,
       count(*) FILTER (WHERE CASE m.metric WHEN 'funnel_accepted' THEN pl.accepted
                                            ELSE pl.completed END),
       count(*), 0, 0, %(now)s
FROM metrics_patients p
LEFT JOIN (
    SELECT patient_id, bool_or(accepted_at IS NOT NULL) AS accepted,
           bool_or(status = 'completed') AS completed
    FROM journeys_treatmentplan GROUP BY patient_id
) pl ON pl.patient_id = p.patient_id
CROSS JOIN (VALUES ('funnel_accepted'), ('funnel_completed')) AS m(metric)
GROUP BY m.metric, p.month, p.branch_id, p.doctor_id
"""

_COMPLETION = """
INSERT INTO metrics_cohortfigure (metric, month, branch_id, doctor_id, hits, n, total,
                                  total_sq, computed_at)
SELECT 'completion', month, branch_id, lead_doctor_id,
       count(*) FILTER (WHERE status = 'completed'), count(*), 0, 0, %(now)s
FROM (
    SELECT p.status, p.branch_id, p.lead_doctor_id,
           date_trunc('month', CASE p.status WHEN 'completed' THEN p.completed_at
                                             WHEN 'abandoned' THEN p.updated_at
                                             ELSE %(now)s END AT TIME ZONE b.time_zone)::date
               AS month
    FROM journeys_treatmentplan p JOIN journeys_branch b ON b.id = p.branch_id
    WHERE p.accepted_at IS NOT NULL
      AND (p.status IN ('completed', 'abandoned')
           OR EXISTS (SELECT 1 FROM journeys_task t
                      WHERE t.plan_id = p.id AND t.kind = 'stalled_journey'
                        AND t.state IN ('open', 'in_progress')))
) ended
GROUP BY month, branch_id, lead_doctor_id
"""

# Gaps between a patient's visits (completed, or booked and still ahead): a gap longer
# than dormant_months is a dormant spell; the last visit's gap runs until now.
_DORMANCY = """
INSERT INTO metrics_cohortfigure (metric, month, branch_id, doctor_id, hits, n, total,
                                  total_sq, computed_at)
SELECT metric, date_trunc('month', %(now)s AT TIME ZONE b.time_zone)::date, b.id, NULL,
       sum(hit::int), count(*), 0, 0, %(now)s
FROM (
    SELECT 'dormant' AS metric, p.home_branch_id AS branch_id,
           g.last_completed < %(now)s - make_interval(months => %(dormant_months)s)
           AND NOT g.upcoming AS hit
    FROM patients_patient p JOIN (
        SELECT patient_id, max(starts_at) FILTER (WHERE status = 'completed') AS last_completed,
               bool_or(status IN ('scheduled', 'confirmed') AND starts_at > %(now)s) AS upcoming
        FROM journeys_visit GROUP BY patient_id
    ) g ON g.patient_id = p.id
    WHERE g.last_completed IS NOT NULL AND NOT p.is_archived AND NOT p.is_deceased
      AND p.merged_into_id IS NULL
    UNION ALL
    SELECT 'reactivated', p.home_branch_id, s.came_back
    FROM patients_patient p JOIN (
        SELECT patient_id,
               -- a single visit has no gap before it (NULL): not a return
               COALESCE(bool_or(gap_closed), false) AS came_back,
               bool_or(gap_closed) OR bool_or(gap_open) AS ever
        FROM (
            SELECT patient_id,
                   starts_at - lag(starts_at) OVER w
                       > make_interval(months => %(dormant_months)s) AS gap_closed,
                   lead(starts_at) OVER w IS NULL
                       AND starts_at < %(now)s - make_interval(months => %(dormant_months)s)
                       AS gap_open
            FROM journeys_visit
            WHERE status = 'completed' OR (status IN ('scheduled', 'confirmed')
                                           AND starts_at > %(now)s)
            WINDOW w AS (PARTITION BY patient_id ORDER BY starts_at)
        ) gaps
        GROUP BY patient_id
    ) s ON s.patient_id = p.id
    WHERE s.ever AND NOT p.is_archived AND NOT p.is_deceased AND p.merged_into_id IS NULL
) x
JOIN journeys_branch b ON b.id = x.branch_id
GROUP BY metric, b.id, b.time_zone
"""

_RECOVERY = """
INSERT INTO metrics_cohortfigure (metric, month, branch_id, doctor_id, hits, n, total,
                                  total_sq, computed_at)
SELECT 'recovery_return', date_trunc('month', r.submitted_at AT TIME ZONE b.time_zone)::date,
       r.branch_id, r.doctor_id,
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM journeys_visit v WHERE v.patient_id = r.patient_id
             AND v.status = 'completed' AND v.starts_at > r.submitted_at
             -- not the visit answered about, answered before it started (an early arrival)
             AND v.id IS DISTINCT FROM r.visit_id)),
       count(*), 0, 0, %(now)s
FROM feedback_response r JOIN journeys_branch b ON b.id = r.branch_id
WHERE r.negative
GROUP BY 2, r.branch_id, r.doctor_id
"""

# A negative answer's patient answering again later: how many NPS points better.
_RESURVEY = """
INSERT INTO metrics_cohortfigure (metric, month, branch_id, doctor_id, hits, n, total,
                                  total_sq, computed_at)
SELECT 'resurvey', date_trunc('month', r.submitted_at AT TIME ZONE b.time_zone)::date,
       r.branch_id, r.doctor_id, count(*) FILTER (WHERE later.nps_score > r.nps_score),
       count(*), sum(later.nps_score - r.nps_score),
       sum((later.nps_score - r.nps_score) * (later.nps_score - r.nps_score)), %(now)s
FROM feedback_response r
JOIN journeys_branch b ON b.id = r.branch_id
JOIN LATERAL (
    SELECT n.nps_score FROM feedback_response n
    WHERE n.patient_id = r.patient_id AND n.submitted_at > r.submitted_at
      AND n.submitted_at <= %(now)s AND n.nps_score IS NOT NULL
    ORDER BY n.submitted_at LIMIT 1
) later ON true
WHERE r.negative AND r.nps_score IS NOT NULL
GROUP BY 2, r.branch_id, r.doctor_id
"""

_HANDOFFS = """
INSERT INTO metrics_cohortfigure (metric, month, branch_id, doctor_id, hits, n, total,
                                  total_sq, computed_at)
SELECT 'handoff', date_trunc('month', h.created_at AT TIME ZONE b.time_zone)::date,
       h.branch_id, h.from_doctor_id,
       count(*) FILTER (WHERE h.state IN ('booked', 'completed')), count(*), 0, 0, %(now)s
FROM journeys_handoff h JOIN journeys_branch b ON b.id = h.branch_id
GROUP BY 2, h.branch_id, h.from_doctor_id
"""

_FIRST_CONTACT = """
INSERT INTO metrics_cohortfigure (metric, month, branch_id, doctor_id, hits, n, total,
                                  total_sq, computed_at)
SELECT 'first_contact', date_trunc('month', t.created_at)::date, NULL, NULL, 0, count(*),
       sum(hours), sum(hours * hours), %(now)s
FROM (
    SELECT created_at, extract(epoch FROM closed_at - created_at) / 3600 AS hours
    FROM journeys_task
    WHERE kind = 'booking_request' AND state = 'done' AND closed_at IS NOT NULL
) t
GROUP BY 2
"""


def cohorts_snapshot(*, now: datetime | None = None) -> dict[str, float]:
    """Replaces every cohort figure with those as of ``now``, in one transaction
    (dashboards see the old snapshot until it commits). Returns rows per metric and the
    seconds taken."""
    config = MetricsSettings.current()
    params = {
        "now": now or timezone.now(),
        "return_days": config.return_days,
        "dormant_months": config.dormant_months,
        "discount": config.discount_rate,
        "period_months": config.clv_period_months,
        "cost_share": config.cost_share,
    }
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM metrics_cohortfigure")
        cursor.execute(_FIRSTS, params)
        cursor.execute(_PER_PATIENT, params)
        for statement in (
            _FROM_PATIENTS,
            _COMPLETION,
            _DORMANCY,
            _RECOVERY,
            _RESURVEY,
            _HANDOFFS,
        ):
            cursor.execute(statement, params)
        cursor.execute(_FIRST_CONTACT, params)
        RollupState.touch(cohorts=True, cohorts_at=params["now"])
    counts = {
        metric: CohortFigure.objects.filter(metric=metric).count()
        for metric in CohortFigure.Metric.values
    }
    return {**counts, "seconds": time.perf_counter() - started}
