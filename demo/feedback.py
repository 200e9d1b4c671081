"""Demo answers: a few hundred through the real service for the small demo, with its
recovery calls (most within the 24 hours, a few late, a few still open), and about three
in ten completed visits answered, generated inside PostgreSQL, for the large benchmark
data set (over a million responses with a million patients)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from clinic_crm.db import values_sql
from feedback.defaults import defaults_create
from feedback.models import CsiAttribute, ReasonTag, Response, Survey
from feedback.reasons import complaint_reasons
from feedback.services import RECOVERY_SLA, FeedbackError, survey_response_record
from journeys.models import Task, Visit
from journeys.services.worklist import task_close

COMMENTS = [
    # comment, nps range
    ("Врач всё подробно объяснил, спасибо!", (9, 10)),
    ("Очень внимательный персонал.", (9, 10)),
    ("Всё хорошо, но пришлось подождать.", (7, 8)),
    ("Долго ждал в коридоре, приём начался на 30 минут позже.", (3, 6)),
    ("Дорого, и цену не объяснили заранее.", (2, 6)),
    ("Непонятно, что дальше по плану лечения.", (4, 6)),
    ("", (9, 10)),
    ("", (9, 10)),
    ("", (8, 10)),
    ("", (7, 9)),
    ("", (0, 10)),
]


# Shares of the small demo's answers: promoters, passives, detractors (a clinic doing
# well: NPS about +50), and how the waiting time is rated (2 of 5 is a complaint).
BAND_WEIGHTS = {"promoter": 62, "passive": 25, "detractor": 13}
WAITING_WEIGHTS = {2: 4, 3: 16, 4: 35, 5: 45}
ANSWER_RATE = 0.4
# How the curators worked the negative answers older than a day: most called back within
# the 24 hours, some late, a few still waiting (overdue).
LATE_SHARE = 0.12
OVERDUE_SHARE = 0.08
# Answers of the last day: this share already called back, the rest still to call.
RECENT_CALLED_SHARE = 0.7
# What the curators wrote, with how each call ended (Task.Result).
OUTCOMES = [
    ("Позвонили, извинились за ожидание; пациент записан на следующий этап.", "reached_solved"),
    ("Объяснили стоимость лечения по пунктам, пациент доволен разъяснением.", "reached_solved"),
    ("Поговорили с пациентом, передали замечание главному врачу.", "reached_not_solved"),
    ("Перезвонили, предложили другое время приёма без очереди.", "reached_solved"),
    ("Пациент благодарен за звонок, претензий больше нет.", "reached_solved"),
    ("Пациент не захотел обсуждать визит.", "refused"),
]


def _scores(rng: random.Random) -> tuple[int, str, int]:
    band = rng.choices(list(BAND_WEIGHTS), list(BAND_WEIGHTS.values()))[0]
    low, high = {"promoter": (9, 10), "passive": (7, 8), "detractor": (2, 6)}[band]
    score = rng.randint(low, high)
    comment = rng.choice([text for text, (lo, hi) in COMMENTS if lo <= score <= hi])
    waiting = rng.choices(list(WAITING_WEIGHTS), list(WAITING_WEIGHTS.values()))[0]
    return score, comment, waiting


def demo_responses_create(*, rng: random.Random, now: datetime | None = None) -> int:
    """Answers for about four in ten visits completed before ``now``, through the
    service (so the recovery tasks and journey notes are the real ones), each given
    some hours after the visit and never after ``now``."""
    now = now or timezone.now()
    defaults_create(CsiAttribute, Survey, ReasonTag)
    survey = Survey.objects.get(kind=Survey.Kind.VISIT, is_active=True)
    made = 0
    visits = Visit.objects.filter(
        status=Visit.Status.COMPLETED, responses=None, ends_at__lt=now
    ).select_related("service", "branch", "stage__option__plan")
    for visit in visits.order_by("id"):
        if rng.random() > ANSWER_RATE:
            continue
        submitted_at = visit.ends_at + timedelta(hours=rng.uniform(0.5, 30))
        if submitted_at > now:
            submitted_at = visit.ends_at + (now - visit.ends_at) * rng.random()
            if now - submitted_at < timedelta(minutes=20):
                continue  # not answered yet
        score, comment, waiting = _scores(rng)
        try:
            survey_response_record(
                survey=survey,
                visit=visit,
                channel=rng.choice(["sms", "sms", "telegram", "kiosk"]),
                nps_score=score,
                answers={
                    "communication": max(1, min(5, round(score / 2) + rng.choice([-1, 0, 0]))),
                    "waiting": waiting,
                },
                comment=comment,
                submitted_at=submitted_at,
            )
        except FeedbackError:  # e.g. the visit was answered meanwhile
            continue
        made += 1
    return made


def demo_recovery_create(*, rng: random.Random, now: datetime | None = None, caller) -> dict:
    """Works the open recovery tasks of the demo's negative answers as a good clinic's
    curators do: answers older than a day were mostly called back within the 24 hours,
    some late and a few not yet (overdue now); of the last day's, most were called.

    Closed through ``task_close`` (outcome and journey event), by the task's assignee or
    ``caller``; the closing time is then set to when the call was made, a past fact
    like the demo's past visits. Returns the tasks by how they turned out."""
    now = now or timezone.now()
    responses = (
        Response.objects.filter(negative=True, recovery_task__state__in=Task.OPEN_STATES)
        .select_related("recovery_task__assignee")
        .order_by("submitted_at", "id")
    )
    older, recent = [], []
    for response in responses:
        (recent if now - response.submitted_at < RECOVERY_SLA else older).append(response)
    rng.shuffle(older)
    overdue = max(1, round(OVERDUE_SHARE * len(older))) if older else 0
    late = round(LATE_SHARE * len(older))
    counts = {"in_time": 0, "late": 0, "overdue": overdue, "not_yet_due": 0}
    calls = []
    for n, response in enumerate(older[overdue:]):
        if n < late:
            hours, kind = rng.uniform(26, 60), "late"
        else:
            hours, kind = rng.uniform(1, 20), "in_time"
        calls.append((response, hours, kind))
    for response in recent:
        if rng.random() < RECENT_CALLED_SHARE:
            calls.append((response, rng.uniform(0.5, 20), "in_time"))
        else:
            counts["not_yet_due"] += 1
    for response, hours, kind in calls:
        called_at = min(response.submitted_at + timedelta(hours=hours), now)
        if called_at <= response.submitted_at:
            counts["not_yet_due"] += 1
            continue
        if kind == "in_time" and called_at > response.submitted_at + RECOVERY_SLA:
            kind = "late"
        task = response.recovery_task
        outcome, result = rng.choice(OUTCOMES)
        task_close(actor=task.assignee or caller, task=task, outcome=outcome, result=result)
        Task.objects.filter(pk=task.pk).update(closed_at=called_at)
        counts[kind] += 1
    # A recovery task is opened when the answer arrives.
    submitted = Response.objects.filter(recovery_task=OuterRef("pk")).values("submitted_at")
    Task.objects.filter(pk__in=[r.recovery_task_id for r in [*older, *recent]]).update(
        created_at=Subquery(submitted[:1])
    )
    return counts


# --- the large data set ------------------------------------------------------------------

# Hashes of the visit id drive everything, so the data set is the same on every run.
# NPS: about 55 % promoters, 25 % passives, 20 % detractors, shifted a little per doctor
# so that the league table has something to show.
_NPS = """
CASE WHEN (abs(hashtext('nps' || v.id)) + (v.doctor_id %% 7) * 4) %% 100 < 55
          THEN 9 + abs(hashtext('n2' || v.id)) %% 2
     WHEN (abs(hashtext('nps' || v.id)) + (v.doctor_id %% 7) * 4) %% 100 < 80
          THEN 7 + abs(hashtext('n2' || v.id)) %% 2
     ELSE abs(hashtext('n2' || v.id)) %% 7 END
"""
# Communication follows the NPS answer; waiting time is mostly fine, 1 in 20 rates it 2.
_COMMUNICATION = "greatest(1, least(5, {nps} / 2 + abs(hashtext('c' || v.id)) %% 2))"
_WAITING = """
CASE WHEN abs(hashtext('w' || v.id)) %% 100 < 5 THEN 2
     WHEN abs(hashtext('w' || v.id)) %% 100 < 25 THEN 3
     WHEN abs(hashtext('w' || v.id)) %% 100 < 60 THEN 4 ELSE 5 END
"""

RESPONSES_SQL = f"""
INSERT INTO feedback_response (survey_id, patient_id, visit_id, day, branch_id, doctor_id,
    specialty_id, service_id, service_category, stage_id, stage_kind, channel, submitted_at,
    nps_score, comment, tagged_reasons, negative)
SELECT %(survey)s, v.patient_id, v.id, (v.starts_at AT TIME ZONE b.time_zone)::date,
       v.branch_id, v.doctor_id, s.specialty_id, v.service_id, s.category, v.stage_id,
       CASE WHEN v.stage_id IS NULL THEN 'none'
            WHEN st.significant THEN 'significant' ELSE 'stage' END,
       'sms', v.starts_at + interval '20 hours', x.nps, '', '[]'::jsonb,
       x.nps <= 6 OR x.communication <= 2 OR x.waiting <= 2
FROM journeys_visit v
JOIN journeys_branch b ON b.id = v.branch_id
JOIN journeys_service s ON s.id = v.service_id
LEFT JOIN journeys_stage st ON st.id = v.stage_id
CROSS JOIN LATERAL (
    SELECT n.nps, {_COMMUNICATION.format(nps="n.nps")} AS communication, {_WAITING} AS waiting
    FROM (SELECT {_NPS} AS nps) n
) x
WHERE v.id > %(after_visit)s AND v.status = 'completed'
  AND abs(hashtext('answered' || v.id)) %% 100 < %(rate)s
  AND v.starts_at + interval '20 hours' < now()
"""  # noqa: S608 - constants only

ANSWERS_SQL = f"""
INSERT INTO feedback_attributeanswer (response_id, attribute_id, score)
SELECT r.id, a.id,
       CASE a.key WHEN 'communication' THEN {_COMMUNICATION.format(nps="r.nps_score")}
                  ELSE {_WAITING} END
FROM feedback_response r
JOIN journeys_visit v ON v.id = r.visit_id
JOIN feedback_csiattribute a ON a.key IN ('communication', 'waiting')
WHERE r.id > %(after_response)s
"""  # noqa: S608 - constants only

# Recovery: a task per negative answer; older ones closed by the curator, four in five
# within the 24 hours.
TASKS_SQL = """
INSERT INTO journeys_task (kind, patient_id, assignee_id, cause_key, title, details, due_at,
                           risk, state, outcome, created_at, closed_at)
SELECT 'negative_feedback', r.patient_id, NULL, 'negative_feedback:visit:' || r.visit_id,
       'Позвонить пациенту в течение 24 часов: недоволен визитом', '',
       r.submitted_at + interval '24 hours', 95,
       CASE WHEN r.submitted_at > now() - interval '3 days' THEN 'open' ELSE 'done' END,
       CASE WHEN r.submitted_at > now() - interval '3 days' THEN '' ELSE 'Позвонили' END,
       r.submitted_at,
       CASE WHEN r.submitted_at > now() - interval '3 days' THEN NULL
            ELSE r.submitted_at + make_interval(hours =>
                 CASE WHEN abs(hashtext('call' || r.id)) %% 5 = 0 THEN 30 ELSE 3 END) END
FROM feedback_response r
WHERE r.id > %(after_response)s AND r.negative
"""

LINK_TASKS_SQL = """
UPDATE feedback_response r SET recovery_task_id = t.id
FROM journeys_task t
WHERE r.id > %(after_response)s AND r.negative
  AND t.cause_key = 'negative_feedback:visit:' || r.visit_id AND t.id > %(after_task)s
"""


# Three in ten answers say why, in one of the demo comments that fits their score.
_BANDS = {
    "promoter": [c for c, (low, _h) in COMMENTS if c and low >= 9],
    "passive": [c for c, (low, high) in COMMENTS if c and low >= 7 and high <= 8],
    "detractor": [c for c, (_l, high) in COMMENTS if c and high <= 6],
}
COMMENTS_SQL = """
UPDATE feedback_response r SET comment = c.comment, tagged_reasons = c.tagged::jsonb
FROM (VALUES {values}) AS c(band, n, k, comment, tagged)
WHERE r.id > %(after_response)s AND abs(hashtext('why' || r.id)) %% 10 < 3
  AND c.band = CASE WHEN r.nps_score >= 9 THEN 'promoter'
                    WHEN r.nps_score >= 7 THEN 'passive' ELSE 'detractor' END
  AND c.k = abs(hashtext('which' || r.id)) %% c.n
"""
REASONS_SQL = """
INSERT INTO feedback_response_reasons (response_id, reasontag_id)
SELECT r.id, t.tag FROM feedback_response r
JOIN (VALUES {values}) AS t(comment, tag) ON t.comment = r.comment
WHERE r.id > %(after_response)s
"""


def scale_comments_create(cursor, *, after_response: int) -> int:
    """Comments for about three in ten answers after ``after_response``, tagged with
    their reasons by the service's own tagger; returns the comments written."""
    tags = {tag.key: tag for tag in ReasonTag.objects.filter(is_active=True)}
    found = {
        text: [key for key in complaint_reasons(text) if key in tags]
        for texts in _BANDS.values()
        for text in texts
    }
    comments = [
        (band, len(texts), k, text, json.dumps(found[text]))
        for band, texts in _BANDS.items()
        for k, text in enumerate(texts)
    ]
    cursor.execute(
        COMMENTS_SQL.format(values=values_sql(cursor, "(%s, %s, %s, %s, %s)", comments)),
        {"after_response": after_response},
    )
    written = cursor.rowcount
    pairs = [(text, tags[key].pk) for text, keys in found.items() for key in keys]
    if pairs:
        cursor.execute(
            REASONS_SQL.format(values=values_sql(cursor, "(%s, %s)", pairs)),
            {"after_response": after_response},
        )
    return written


def scale_responses_create(
    *, after_visit: int, rate: int = 30, progress: Callable[[str], None]
) -> dict[str, int]:
    """Responses for ``rate`` % of the completed visits after ``after_visit``, with two
    aspect answers each and a recovery task per negative one. The metrics triggers are
    skipped for the load (``metrics.bulk_load``); rebuild the rollups afterwards."""
    defaults_create(CsiAttribute, Survey, ReasonTag)
    survey = Survey.objects.get(kind=Survey.Kind.VISIT, is_active=True)
    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL metrics.bulk_load = 'on'")
        cursor.execute("SELECT COALESCE(max(id), 0) FROM feedback_response")
        after_response = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(max(id), 0) FROM journeys_task")
        after_task = cursor.fetchone()[0]
        cursor.execute(
            RESPONSES_SQL, {"survey": survey.pk, "after_visit": after_visit, "rate": rate}
        )
        counts["responses"] = cursor.rowcount
        progress(f"responses {cursor.rowcount:,}")
        counts["comments"] = scale_comments_create(cursor, after_response=after_response)
        cursor.execute(ANSWERS_SQL, {"after_response": after_response})
        counts["answers"] = cursor.rowcount
        cursor.execute(TASKS_SQL, {"after_response": after_response})
        counts["recovery_tasks"] = cursor.rowcount
        cursor.execute(LINK_TASKS_SQL, {"after_response": after_response, "after_task": after_task})
        progress(f"answers {counts['answers']:,}, recovery tasks {counts['recovery_tasks']:,}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_response")
        cursor.execute("ANALYZE feedback_attributeanswer")
    return counts
