"""Benchmark of the feedback loop against a seeded data set (issue "Feedback loop").

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench   # seeded:
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --patients N
    .venv/bin/python bench/feedback.py

Measures, in one run (so the ratios compare like with like):

1. The patient's survey page under BENCH_CLIENTS (20) concurrent patients, through
   gunicorn with the production configuration: the page's GET and the first answer's
   POST, each p50/p95 server time (Server-Timing) and p95 as a ratio to the floor (the
   smallest staff view behind the same middleware, bench/urls.py).
2. What planning the survey invitation adds to completing a visit: ``visit_complete`` of
   fresh arrived visits with surveys on and off, alternating, each rolled back.
3. The complaint-reason tagger's throughput on one core over the labelled comments.

It adds survey invitations for completed visits of the data set (one per request) and
deletes them, their answers and the sessions it made at the end; Redis is the project's
REDIS_URL. The weekly report's build time is bench/weekly_report.py's.
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import threading
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.journeys_pages import (  # noqa: E402
    PORT,
    WORKERS,
    p95,
    start_server,
    verified_session,
)
from clinic_crm.staff.models import User  # noqa: E402
from feedback.links import new_key, survey_token  # noqa: E402
from feedback.models import Response, Survey, SurveyInvitation  # noqa: E402
from feedback.reasons import complaint_reasons  # noqa: E402
from journeys.models import Visit  # noqa: E402
from journeys.services.visit_completion import FinishCare, visit_complete  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 20))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", 400))
COMPLETIONS = int(os.environ.get("BENCH_COMPLETIONS", 60))


def say(text: str) -> None:
    print(text, flush=True)


def invitations_for_bench(count: int) -> list[SurveyInvitation]:
    """Invitations for completed visits that have none, as the completion writes them
    (no message: the page is measured, not the outbox)."""
    survey = Survey.objects.get(kind=Survey.Kind.VISIT, is_active=True)
    visits = list(
        Visit.objects.filter(status=Visit.Status.COMPLETED, survey_invitations=None, responses=None)
        .order_by("-starts_at")
        .values_list("pk", "patient_id")[:count]
    )
    if len(visits) < count:
        sys.exit(f"Only {len(visits)} completed visits without a survey: seed more data.")
    expires = timezone.now() + timedelta(days=7)
    keys = survey.attributes.filter(is_active=True).values_list("key", flat=True)[:2]
    return SurveyInvitation.objects.bulk_create(
        SurveyInvitation(
            patient_id=patient_id,
            visit_id=visit_id,
            survey=survey,
            key=new_key(),
            attribute_keys=list(keys),
            expires_at=expires,
        )
        for visit_id, patient_id in visits
    )


def load(paths: list[tuple[str, str, bytes | None]], cookie: str = "") -> list[float]:
    """Sends each (method, path, body) once, CLIENTS at a time; the server times."""
    server_ms: list[float] = []
    lock = threading.Lock()
    chunks = [paths[i::CLIENTS] for i in range(CLIENTS)]

    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine = []
        for method, path, body in chunk:
            headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 303):
                raise RuntimeError(f"{method} {path}: HTTP {response.status}")
            mine.append(float(response.getheader("Server-Timing", "app;dur=0").split("dur=")[1]))
        with lock:
            server_ms.extend(mine)

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return server_ms


def completion_cost() -> tuple[float, float]:
    """Mean ms of ``visit_complete`` with and without feedback's completion hook (the
    invitation's planning), alternating, each visit new and arrived, each completion rolled
    back (the data set is left as it was). Nothing else differs: the same settings, the
    same warm caches."""
    from journeys.services import visit_completion

    visit = (
        Visit.objects.filter(status=Visit.Status.COMPLETED)
        .select_related("service")
        .order_by("-starts_at")
        .first()
    )
    doctor = User.objects.get(pk=visit.doctor_id)
    hooks = list(visit_completion._completion_hooks)
    timings: dict[bool, list[float]] = {True: [], False: []}
    start = timezone.now() - timedelta(minutes=40)
    try:
        for n in range(COMPLETIONS * 2 + 4):
            surveys = n % 2 == 0
            visit_completion._completion_hooks[:] = hooks if surveys else []
            with transaction.atomic():
                arrived = Visit.objects.create(
                    patient_id=visit.patient_id,
                    doctor=doctor,
                    branch_id=visit.branch_id,
                    service=visit.service,
                    starts_at=start - timedelta(days=3650 + n),
                    ends_at=start - timedelta(days=3650 + n) + timedelta(minutes=30),
                    status=Visit.Status.ARRIVED,
                )
                began = time.perf_counter()
                visit_complete(
                    actor=doctor, visit=arrived, next_step=FinishCare(observation_months=0)
                )
                if n >= 4:  # the first ones warm the caches
                    timings[surveys].append((time.perf_counter() - began) * 1000)
                transaction.set_rollback(True)
    finally:
        visit_completion._completion_hooks[:] = hooks
    return statistics.mean(timings[True]), statistics.mean(timings[False])


def tagger_throughput(seconds: float = 5.0) -> tuple[float, int]:
    sys.path.insert(0, str(ROOT / "tests" / "feedback"))
    from reason_corpus import DEV, LABELLED  # noqa: PLC0415 - the test corpus

    comments = [text for text, _labels in [*DEV, *LABELLED]]
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for comment in comments:
            complaint_reasons(comment)
        done += len(comments)
    return done / (time.perf_counter() - began), len(comments)


def main() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM patients_patient), "
            "(SELECT count(*) FROM journeys_visit), (SELECT count(*) FROM feedback_response)"
        )
        patients, visits, responses = cursor.fetchone()
    say(
        f"Data: {patients:,} patients, {visits:,} visits, {responses:,} responses; "
        f"{CLIENTS} concurrent patients, {REQUESTS} requests each; gunicorn "
        f"({WORKERS} sync workers) on {os.cpu_count()} cores."
    )
    manager = User.objects.filter(groups__name="manager").order_by("id").first()
    session = verified_session(manager)
    invitations = invitations_for_bench(REQUESTS * 2)
    tokens = [survey_token(i.key) for i in invitations]
    server = start_server()
    try:
        load([("GET", "/bench/floor/", None)] * 40, session)  # warm the workers
        floor = load([("GET", "/bench/floor/", None)] * REQUESTS, session)
        gets = load([("GET", f"/s/{t}", None) for t in tokens[:REQUESTS]])
        posts = load(
            [
                (
                    "POST",
                    f"/s/{t}",
                    urllib.parse.urlencode({"step": "nps", "nps_score": 9}).encode(),
                )
                for t in tokens[REQUESTS:]
            ]
        )
        floor_again = load([("GET", "/bench/floor/", None)] * REQUESTS, session)
    finally:
        server.terminate()
        server.wait(timeout=30)
    floor_p95 = p95(floor + floor_again)
    say(f"{'':32} {'p50 ms':>8} {'p95 ms':>8} {'p95/floor':>10}")
    for name, values in (
        ("floor (minimal staff view)", floor + floor_again),
        ("survey page, GET", gets),
        ("survey answer, POST", posts),
    ):
        say(
            f"{name:32} {statistics.median(values):8.1f} {p95(values):8.1f} "
            f"{p95(values) / floor_p95:10.2f}"
        )
    answered = Response.objects.filter(invitation__in=invitations).count()
    say(f"answers recorded by the POSTs: {answered} of {REQUESTS}")

    with_surveys, without = completion_cost()
    say(
        f"visit_complete: {with_surveys:.1f} ms with the survey planned, {without:.1f} ms "
        f"without ({(with_surveys / without - 1) * 100:+.0f} %), {COMPLETIONS} each"
    )
    rate, corpus = tagger_throughput()
    say(f"complaint_reasons: {rate:,.0f} comments/s on one core ({corpus} comments, warm)")

    # Leave the data set as it was.
    ids = [i.pk for i in invitations]
    responses_made = list(
        Response.objects.filter(invitation__pk__in=ids).values_list("pk", flat=True)
    )
    with transaction.atomic():
        SurveyInvitation.objects.filter(pk__in=ids).delete()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL metrics.bulk_load = 'on'")
        Response.objects.filter(pk__in=responses_made).delete()
    Session.objects.filter(session_key=session).delete()


if __name__ == "__main__":
    main()
