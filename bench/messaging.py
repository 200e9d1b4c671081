"""Benchmark of the patient-message outbox against the large data set.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python manage.py migrate && \
        .venv/bin/python manage.py seed_demo --patients 1000000     # once, ~10 min
    .venv/bin/python bench/messaging.py

Three figures; the first two are ratios to a floor measured in the same run:

1. Planning: the reminders of a day of PLAN_VISITS visits (inserted for a day next
   month), planned one visit per transaction through ``visit_reminders_plan`` as a
   booking does — against the floor of one plain ORM insert of a Message row per
   transaction.
2. Dispatch: DISPATCH_MESSAGES messages due now, sent by ONE Celery worker process
   (solo pool) through the SMSC backend to the fake provider (a separate process on
   127.0.0.1) — messages per second, against the throughput of the no-op task
   ``clinic_crm.ping`` through the same Redis broker and the same kind of worker.
3. Lateness: LATENESS_MESSAGES messages scheduled over the next LATENESS_MINUTES minutes,
   sent by one worker with Celery beat at its default schedule (dispatch every minute, no
   kick: nothing is due when they are written) — p50/p99/max of (sent at − scheduled for).

The benchmark uses its own Redis database (BENCH_REDIS_URL, default db 12), moves the
clinic's quiet hours away from the current hour while it runs (and puts them back), and
deletes the visits, messages and consents it made.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # production settings
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["REDIS_URL"] = BROKER  # this process publishes to the benchmark's broker

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from celery import Celery  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from clinic_crm.messaging.models import Message, MessagingSettings  # noqa: E402
from journeys.models import Visit  # noqa: E402
from journeys.services.messages import visit_reminders_plan  # noqa: E402

PLAN_VISITS = int(os.environ.get("BENCH_PLAN_VISITS", 20_000))
DISPATCH_MESSAGES = int(os.environ.get("BENCH_DISPATCH_MESSAGES", 100_000))
NOOP_TASKS = int(os.environ.get("BENCH_NOOP_TASKS", 20_000))
LATENESS_MESSAGES = int(os.environ.get("BENCH_LATENESS_MESSAGES", 20_000))
LATENESS_MINUTES = int(os.environ.get("BENCH_LATENESS_MINUTES", 5))
MARK = "bench-messaging"


def say(text: str) -> None:
    print(text, flush=True)


# --- set-up ----------------------------------------------------------------------------


def quiet_hours_elsewhere() -> tuple:
    """Moves quiet hours to a window far from now in every zone the patients live in
    (the demo data: Moscow), and returns what was there."""
    config = MessagingSettings.current()
    before = (config.quiet_hours_start, config.quiet_hours_end)
    now = timezone.now().astimezone(ZoneInfo("Europe/Moscow"))
    start = (now + timedelta(hours=6)).time().replace(minute=0, second=0, microsecond=0)
    end = (now + timedelta(hours=7)).time().replace(minute=0, second=0, microsecond=0)
    config.quiet_hours_start, config.quiet_hours_end = start, end
    config.save()
    return before


def restore_quiet_hours(before: tuple) -> None:
    config = MessagingSettings.current()
    config.quiet_hours_start, config.quiet_hours_end = before
    config.save()


def insert_day_of_visits(day) -> list[int]:
    """PLAN_VISITS visits on ``day``, 5 minutes each round the clock, spread over the
    doctors (the exclusion constraint holds); straight SQL, as the set-up, not measured."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH doctors AS (
                SELECT doctor_id, min(branch_id) AS branch_id, row_number() OVER () - 1 AS n
                FROM journeys_workinghours GROUP BY doctor_id
            ), slots AS (
                SELECT d.doctor_id, d.branch_id, s AS slot,
                       row_number() OVER (ORDER BY s, d.n) AS k
                FROM doctors d CROSS JOIN generate_series(0, 287) AS s
            ), last_patients AS (
                SELECT id FROM patients_patient
                WHERE phone <> '' AND NOT is_archived AND NOT is_deceased
                ORDER BY id DESC LIMIT %(count)s
            ), patients AS (
                SELECT id, row_number() OVER (ORDER BY id) AS k FROM last_patients
            )
            INSERT INTO journeys_visit (patient_id, doctor_id, branch_id, service_id, starts_at,
                ends_at, status, cancel_reason, created_at, updated_at)
            SELECT p.id, s.doctor_id, s.branch_id, (SELECT min(id) FROM journeys_service),
                   %(day)s::timestamptz + s.slot * interval '5 minutes',
                   %(day)s::timestamptz + (s.slot + 1) * interval '5 minutes',
                   'scheduled', %(mark)s, now(), now()
            FROM slots s JOIN patients p ON p.k = s.k
            RETURNING id
            """,
            {"count": PLAN_VISITS, "day": day, "mark": MARK},
        )
        return [row[0] for row in cursor.fetchall()]


def insert_due_messages(count: int = DISPATCH_MESSAGES, *, spread_minutes: int = 0) -> None:
    """``count`` follow-up messages, one per patient who can be reached by SMS, each with
    a reminders consent; due now, or scheduled evenly over the next ``spread_minutes``:
    straight SQL, as the set-up."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE bench_patients AS
            SELECT id, row_number() OVER (ORDER BY id) AS n FROM patients_patient
            WHERE phone <> '' AND NOT is_archived AND NOT is_deceased AND merged_into_id IS NULL
            ORDER BY id LIMIT %(count)s
            """,
            {"count": count},
        )
        cursor.execute(
            """
            INSERT INTO patients_consentrecord (patient_id, kind, channel, granted, recorded_at,
                                                text_version, note)
            SELECT id, 'reminders', 'sms', true, now() - interval '1 day', '', %(mark)s
            FROM bench_patients
            """,
            {"mark": MARK},
        )
        cursor.execute(
            """
            INSERT INTO messaging_message (patient_id, kind, channel, language, subject, body,
                scheduled_for, due_at, status, suppressed_reason, attempts, last_error,
                idempotency_key, provider_id, delivery, context, created_at)
            SELECT id, 'follow_up', 'sms', 'ru', '',
                   'Как вы себя чувствуете после вчерашнего визита? Ответьте: ' || id,
                   at, at, 'pending', '', 0, '', %(mark)s || ':' || id, '', '', '{}', now()
            FROM (
                SELECT id, now() + (n - 1) * %(step)s * interval '1 second' AS at
                FROM bench_patients
            ) p
            """,
            {"mark": MARK, "step": spread_minutes * 60 / count},
        )
        cursor.execute("DROP TABLE bench_patients")
        cursor.execute("ANALYZE messaging_message")


def clean_up(visit_ids: list[int]) -> None:
    with connection.cursor() as cursor:
        # The visits' reminders are noted in journeys_journeymessage: those rows go first.
        cursor.execute(
            """
            WITH gone AS (
                DELETE FROM journeys_journeymessage WHERE visit_id = ANY(%s) RETURNING message_id
            )
            DELETE FROM messaging_message
            WHERE idempotency_key LIKE %s OR id IN (SELECT message_id FROM gone)
            """,
            [visit_ids, MARK + ":%"],
        )
        cursor.execute("DELETE FROM journeys_visit WHERE id = ANY(%s)", [visit_ids])
        # Consent records are append-only (a trigger refuses DELETE): the benchmark's stay,
        # marked in their note.


# --- processes -------------------------------------------------------------------------


def start_fake_provider() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.fake_provider", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        raise RuntimeError(f"fake provider did not start: {line!r}")
    return process, line.split(" ", 1)[1]


def production_env(**extra: str) -> dict[str, str]:
    """A worker's or beat's environment: production settings on this database and the
    benchmark's broker (``extra`` may point it elsewhere)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic_crm.settings",
        "DEBUG": "false",  # as in production: no query log kept in memory
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "localhost",
        "REDIS_URL": BROKER,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def start_worker(
    env_extra: dict[str, str], *, name: str = "bench-messaging-worker", pool: str = "solo"
) -> subprocess.Popen:
    """One worker process (solo pool unless told) on the benchmark's broker."""
    from tests.processes import start_worker as start

    return start(production_env(**env_extra), name, loglevel="WARNING", pool=pool)


def start_beat(env_extra: dict[str, str], *, name: str = "bench-messaging") -> subprocess.Popen:
    """Celery beat with the project's schedule (dispatch every minute), a fresh schedule
    file, on the benchmark's broker."""
    from tests.processes import start_beat as start

    return start(production_env(**env_extra), name)


def wait_ready(app: Celery, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("worker exited; see var/bench-messaging-worker.log")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("worker did not answer")


def stop(process: subprocess.Popen) -> None:
    from tests.processes import stop as stop_process

    stop_process(process)


# --- measurements ----------------------------------------------------------------------


def measure_planning(visit_ids: list[int]) -> tuple[float, float]:
    """Seconds to plan the reminders of every visit (a transaction each), and seconds for
    the floor: one ORM insert of a Message row per transaction."""
    visits = list(
        Visit.objects.filter(pk__in=visit_ids).select_related(
            "patient", "doctor__profile__specialty", "branch", "service", "stage"
        )
    )
    started = time.perf_counter()
    for visit in visits:
        with transaction.atomic():
            visit_reminders_plan(visit=visit)
    planning = time.perf_counter() - started
    now = timezone.now()
    started = time.perf_counter()
    for visit in visits:
        with transaction.atomic():
            Message.objects.create(
                patient_id=visit.patient_id,
                kind="reminder",
                channel="sms",
                language="ru",
                body="floor",
                scheduled_for=now + timedelta(days=60),
                due_at=now + timedelta(days=60),
                idempotency_key=f"{MARK}:floor:{visit.pk}",
            )
    floor = time.perf_counter() - started
    Message.objects.filter(idempotency_key__startswith=f"{MARK}:floor:").delete()
    return planning, floor


def measure_noop(app: Celery, client: redis.Redis) -> float:
    """Tasks per second of the no-op task through one worker process: the tasks are
    queued first, then the clock runs from the worker answering to the queue drained."""
    client.delete("celery", "unacked", "unacked_index")
    with app.producer_or_acquire() as producer:
        for _ in range(NOOP_TASKS):
            app.send_task("clinic_crm.ping", producer=producer)
    worker = start_worker({})
    try:
        wait_ready(app, worker)
        started = time.perf_counter()
        while client.llen("celery") or client.hlen("unacked"):
            time.sleep(0.02)
        return NOOP_TASKS / (time.perf_counter() - started)
    finally:
        stop(worker)


def sms_to(fake_url: str) -> dict[str, str]:
    return {
        "MESSAGING_SMS_BACKEND": "smsc",
        "SMSC_API_URL": fake_url + "/sys/send.php",
        "SMSC_LOGIN": "bench",
        "SMSC_PASSWORD": "bench",
    }


def measure_dispatch(app: Celery, fake_url: str) -> tuple[float, dict]:
    worker = start_worker(sms_to(fake_url))
    try:
        wait_ready(app, worker)
        started = time.perf_counter()
        app.send_task("clinic_crm.messaging.tasks.messages_dispatch_task")
        pending = Message.objects.filter(
            idempotency_key__startswith=MARK + ":", status__in=["pending", "sending"]
        )
        while pending.exists():
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        stop(worker)
    outcome = dict(
        Message.objects.filter(idempotency_key__startswith=MARK + ":")
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return DISPATCH_MESSAGES / elapsed, outcome


def measure_lateness(app: Celery, client: redis.Redis, fake_url: str) -> dict[str, float]:
    """Seconds from scheduled to sent (p50, p99, max) of messages that fall due one by one
    while beat and one worker run as in production."""
    client.delete("celery", "unacked", "unacked_index")
    insert_due_messages(LATENESS_MESSAGES, spread_minutes=LATENESS_MINUTES)
    mine = Message.objects.filter(idempotency_key__startswith=MARK + ":")
    worker = start_worker(sms_to(fake_url))
    beat = start_beat(sms_to(fake_url))
    try:
        wait_ready(app, worker)
        deadline = time.monotonic() + LATENESS_MINUTES * 60 + 300
        while mine.filter(status__in=["pending", "sending"]).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("messages still pending long after their time")
            time.sleep(1)
    finally:
        stop(beat)
        stop(worker)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lateness),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY lateness),
                   max(lateness), count(*)
            FROM (
                SELECT extract(epoch FROM sent_at - scheduled_for) AS lateness
                FROM messaging_message
                WHERE idempotency_key LIKE %s AND status = 'sent'
            ) m
            """,
            [MARK + ":%"],
        )
        p50, p99, worst, sent = cursor.fetchone()
    return {"p50": p50, "p99": p99, "max": worst, "sent": sent}


def main() -> None:
    app = Celery("bench", broker=BROKER, set_as_current=False)
    client = redis.Redis.from_url(BROKER)
    before = quiet_hours_elsewhere()
    fake, fake_url = start_fake_provider()
    visit_ids: list[int] = []
    try:
        zone = ZoneInfo(settings.TIME_ZONE)
        day = datetime.combine(timezone.localdate() + timedelta(days=40), clock(0), tzinfo=zone)
        say(f"inserting {PLAN_VISITS:,} visits on {day:%Y-%m-%d} …")
        visit_ids = insert_day_of_visits(day)
        planning, floor = measure_planning(visit_ids)
        planned = Message.objects.filter(visit_id__in=visit_ids, kind="reminder").exclude(
            idempotency_key__startswith=MARK
        )
        say(
            f"planning: {len(visit_ids):,} visits in {planning:.1f} s = "
            f"{len(visit_ids) / planning:,.0f} visits/s ({planned.count():,} reminders); floor "
            f"(one ORM insert per transaction) {len(visit_ids) / floor:,.0f}/s; "
            f"ratio {floor / planning:.2f}"
        )
        say(f"inserting {DISPATCH_MESSAGES:,} due messages …")
        insert_due_messages()
        noop = measure_noop(app, client)
        say(f"no-op task: {noop:,.0f} tasks/s through one worker process")
        rate, outcome = measure_dispatch(app, fake_url)
        say(f"dispatch: {rate:,.0f} messages/s through one worker process; outcome {outcome}")
        say(f"ratio dispatch / no-op: {rate / noop:.2f}")
        clean_up([])
        say(
            f"lateness: {LATENESS_MESSAGES:,} messages falling due over {LATENESS_MINUTES} min, "
            "worker + beat …"
        )
        late = measure_lateness(app, client, fake_url)
        say(
            f"lateness (sent at − scheduled for), {late['sent']:,} sent: p50 {late['p50']:.1f} s, "
            f"p99 {late['p99']:.1f} s, max {late['max']:.1f} s"
        )
        print(
            "\n| figure | per second | floor per second | ratio |\n| --- | ---: | ---: | ---: |\n"
            f"| planning reminders, {len(visit_ids):,} visits of a day | "
            f"{len(visit_ids) / planning:,.0f} | {len(visit_ids) / floor:,.0f} (ORM insert) | "
            f"{floor / planning:.2f} |\n"
            f"| dispatch to the fake provider, {DISPATCH_MESSAGES:,} messages | {rate:,.0f} | "
            f"{noop:,.0f} (no-op task) | {rate / noop:.2f} |\n"
            f"\nlateness p50 {late['p50']:.1f} s, p99 {late['p99']:.1f} s, max {late['max']:.1f} s"
        )
    finally:
        clean_up(visit_ids)
        restore_quiet_hours(before)
        stop(fake)


if __name__ == "__main__":
    main()
