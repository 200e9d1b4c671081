"""Benchmark of the weekly pattern report (metrics.weekly_report) on a year of answers.

    .venv/bin/python bench/weekly_report.py

It makes its own database (BENCH_WEEKLY_DATABASE_URL, by default
postgres://postgres@127.0.0.1:5432/clinic_bench_weekly, created and migrated as
DATABASE_ADMIN_URL's administrator, the local ``postgres`` by default) and uses its own
Redis database (BENCH_REDIS_URL, default db 13), so nothing of a running installation or
of the other benchmarks is touched. It seeds a realistic clinic with bulk COPYs: 5
branches, 60 doctors, 30,000 patients and BENCH_WEEKLY_RESPONSES answers (150,000) over
the 52 weeks before the current one, a quarter of them naming one or two reasons, with a
real jump in one branch's waiting complaints in the last week. Then it builds the report
of the last full week BENCH_WEEKLY_RUNS times and prints the build's p50 and worst time,
its queries and what it found. The database is dropped at the end (BENCH_KEEP_DB=1 keeps
it, and a later run reuses its data).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dj_database_url  # noqa: E402

from scripts.ensure_services import DEFAULT_ADMIN, database_drop, database_ensure  # noqa: E402

DATABASE = os.environ.get(
    "BENCH_WEEKLY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinic_bench_weekly"
)
os.environ["DATABASE_URL"] = DATABASE
os.environ["DATABASE_MIGRATE_URL"] = DATABASE  # one role: it migrates and reads
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # production settings

RESPONSES = int(os.environ.get("BENCH_WEEKLY_RESPONSES", 150_000))
RUNS = int(os.environ.get("BENCH_WEEKLY_RUNS", 5))
KEEP = os.environ.get("BENCH_KEEP_DB") == "1"
BRANCHES, DOCTORS, PATIENTS = 5, 60, 30_000
WEEKS = 52
JUMP_BRANCH = 2  # the third branch: waiting complaints triple in the last week

# Reasons by how often an unhappy answer names them, and comments that name them.
REASON_WEIGHTS = {
    "waiting": 30,
    "price": 20,
    "explanation": 12,
    "rudeness": 8,
    "pain": 10,
    "booking": 10,
    "cleanliness": 3,
    "documents": 4,
    "results": 3,
}
COMMENTS = {
    "waiting": "Прождал {n} минут у кабинета, никто не предупредил о задержке.",
    "price": "Очень дорого, в итоге вышло на {n} процентов больше, чем называли.",
    "explanation": "Врач не разъяснил, что будет дальше и зачем нужен снимок.",
    "rudeness": "Администратор разговаривал раздраженно, {n} раз переспрашивал.",
    "pain": "Было очень больно, адский укол, хотя обещали без боли.",
    "booking": "Не дозвониться, чтобы перенести запись, пришлось звонить {n} раз.",
    "cleanliness": "На кресле пятно, неприятно.",
    "documents": "Ошибка в справке: неправильно написали фамилию.",
    "results": "После лечения не стало легче, зуб болит как и раньше.",
}


def say(text: str) -> None:
    print(text, flush=True)


def database_prepare() -> None:
    """Creates the benchmark's database afresh (or keeps the one an earlier run kept)."""
    settings = dj_database_url.parse(DATABASE)
    admin = dj_database_url.parse(os.environ.get("DATABASE_ADMIN_URL") or DEFAULT_ADMIN)
    if not KEEP:
        database_drop(admin, settings["NAME"])
    database_ensure(admin, settings["NAME"], settings["USER"], create=True)


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if value is None else value for value in row])
    buffer.seek(0)
    cursor.cursor.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
    )


def seed(last_sunday: date) -> None:
    from django.db import connection, transaction

    from clinic_crm.catalogue.models import Branch, Specialty
    from clinic_crm.staff.models import User
    from feedback.models import ReasonTag, Response, Survey
    from patients.models import Patient

    rng = random.Random(20261109)
    branches = Branch.objects.bulk_create(
        Branch(name=f"Филиал {n + 1}", time_zone="Europe/Moscow") for n in range(BRANCHES)
    )
    specialties = Specialty.objects.bulk_create(
        Specialty(name=name)
        for name in ("Терапия", "Ортодонтия", "Хирургия", "Ортопедия", "Гигиена", "Детская")
    )
    doctors = User.objects.bulk_create(
        User(
            email=f"doctor{n}@bench.test",
            first_name=f"Врач{n}",
            last_name="Бенчмарков",
            password="!",  # noqa: S106 - an unusable password
        )
        for n in range(DOCTORS)
    )
    patients = Patient.objects.bulk_create(
        (
            Patient(
                last_name=f"Пациентов{n}",
                first_name="Пётр",
                phone=f"+7900{n:07d}",
                home_branch=branches[n % BRANCHES],
            )
            for n in range(PATIENTS)
        ),
        batch_size=5000,
    )
    survey = Survey.objects.get(kind=Survey.Kind.VISIT, is_active=True)
    tags = dict(ReasonTag.objects.values_list("key", "pk"))
    keys = [key for key in REASON_WEIGHTS if key in tags]
    weights = [REASON_WEIGHTS[key] for key in keys]
    staff = [
        (doctor.pk, branches[n % BRANCHES].pk, specialties[n % len(specialties)].pk)
        for n, doctor in enumerate(doctors)
    ]
    first_day = last_sunday - timedelta(weeks=WEEKS) + timedelta(days=1)
    days = (last_sunday - first_day).days + 1
    zone = ZoneInfo("Europe/Moscow")
    responses, reasons = [], []
    for pk in range(1, RESPONSES + 1):
        day = first_day + timedelta(days=rng.randrange(days))
        doctor, branch, specialty = staff[rng.randrange(DOCTORS)]
        draw = rng.random()
        score = rng.randint(0, 6) if draw < 0.15 else rng.randint(7, 8) if draw < 0.4 else 9
        score = score if score < 9 else rng.randint(9, 10)
        named_share = 0.8 if score <= 6 else 0.3 if score <= 8 else 0.05
        named: list[str] = []
        if rng.random() < named_share:
            named = list(dict.fromkeys(rng.choices(keys, weights, k=rng.choice((1, 1, 2)))))
        last_week = day > last_sunday - timedelta(days=7)
        if last_week and branches[JUMP_BRANCH].pk == branch and rng.random() < 0.25:
            named = list(dict.fromkeys(["waiting", *named]))
            score = min(score, 6)
        comment = " ".join(COMMENTS[key].format(n=rng.randint(2, 90)) for key in named)
        if not named and rng.random() < 0.3:
            comment = "Всё понравилось, спасибо доктору."
        kind = rng.choices(("none", "stage", "significant"), (50, 35, 15))[0]
        answered = datetime(day.year, day.month, day.day, 12, tzinfo=zone) + timedelta(
            hours=rng.randint(2, 60)
        )
        responses.append(
            (
                pk,
                survey.pk,
                patients[rng.randrange(PATIENTS)].pk,
                day.isoformat(),
                branch,
                doctor,
                specialty,
                "",
                kind,
                "sms",
                answered.isoformat(),
                score,
                comment,
                "t" if score <= 6 else "f",
                json.dumps(named),
            )
        )
        reasons.extend((pk, tags[key]) for key in named)
    columns = [
        "id",
        "survey_id",
        "patient_id",
        "day",
        "branch_id",
        "doctor_id",
        "specialty_id",
        "service_category",
        "stage_kind",
        "channel",
        "submitted_at",
        "nps_score",
        "comment",
        "negative",
        "tagged_reasons",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        copy_rows(cursor, Response._meta.db_table, columns, responses)
        copy_rows(
            cursor,
            Response.reasons.through._meta.db_table,
            ["response_id", "reasontag_id"],
            reasons,
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('feedback_response', 'id'), max(id)) "
            "FROM feedback_response"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_response")
        cursor.execute("ANALYZE feedback_response_reasons")
    say(f"seeded {len(responses):,} answers, {len(reasons):,} reasons named, from {first_day}")


def main() -> None:
    database_prepare()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from feedback.models import Response
    from metrics.weekly_report import last_week_start, weekly_report_build

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    week = last_week_start(timezone.localdate())
    if not Response.objects.exists():
        seed(week + timedelta(days=6))
    say(f"database ready in {time.perf_counter() - started:.1f} s")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM feedback_response WHERE day >= %s AND day < %s",
            [week - timedelta(weeks=4), week + timedelta(days=7)],
        )
        scanned = cursor.fetchone()[0]
    weekly_report_build(week)  # warm
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            begun = time.perf_counter()
            report = weekly_report_build(week)
            times.append((time.perf_counter() - begun) * 1000)
    data = report.data
    say(
        f"report of {week}: {data['responses']:,} answers this week, "
        f"{data['baseline_responses']:,} in the 4 before ({scanned:,} rows read of "
        f"{Response.objects.count():,}); {len(data['groups'])} groups, "
        f"{data['tests']} tests, {data['flagged_up']} rises and {data['flagged_down']} falls "
        "flagged; "
        f"{len(queries.captured_queries)} queries"
    )
    for group in data["groups"]:
        for row in group["reasons"]:
            if row["change"]:
                say(
                    f"  {row['change']:>4} {group['dimension']:<10} {group['name'] or group['key']}"
                    f" · {row['reason']}: {row['share']:.1f} % (was {row['baseline_share']:.1f} %),"
                    f" p = {row['p_value']:.2g}"
                )
    if os.environ.get("BENCH_SHOW_QUERIES"):
        for query in queries.captured_queries:
            say("  sql: " + " ".join(query["sql"].split())[:110])
    say(f"build ({RUNS} runs): p50 {statistics.median(times):.0f} ms, worst {max(times):.0f} ms")
    connection.close()
    if not KEEP:
        admin = dj_database_url.parse(os.environ.get("DATABASE_ADMIN_URL") or DEFAULT_ADMIN)
        database_drop(admin, dj_database_url.parse(DATABASE)["NAME"])
        say("benchmark database dropped")


if __name__ == "__main__":
    main()
