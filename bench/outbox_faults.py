"""The outbox under faults: the same due SMS sent once without faults and once with
workers killed and the broker restarted, by the deployed kind of worker.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --patients 1000000
    .venv/bin/python bench/outbox_faults.py

BENCH_FAULT_MESSAGES (default 5,000) follow-ups due now, one per patient, go to the fake
SMSC provider (in this process, answering each request in BENCH_PROVIDER_DELAY = 0.6 s,
refusing a repeated id for 60 s as SMSC does) through a prefork worker with two
children and Celery beat, on a private Redis server (redis-server on a free port), with
the production settings and lease (20 s). A second worker joins from 25 % to 60 % of
the run. The faulty run adds BENCH_KILLS (5) SIGKILLs of the worker and its pool at
random moments (BENCH_SEED), each followed a second later by a new worker, and
BENCH_REDIS_RESTARTS (2) kills of the broker's Redis, down 5–8 s and back empty.

Printed: the drain time of both runs and their ratio; sent, failed by reason, provider
receipts, ids requested or delivered twice, ids never requested, "delivery unknown",
status look-ups; how long after each kill every message then claimed was sent or put
back for a retry; whether every process was alive after each Redis restart. The
messages it made are deleted after.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.messaging import (  # noqa: E402 - sets up Django with the benchmark settings
    MARK,
    clean_up,
    insert_due_messages,
    quiet_hours_elsewhere,
    restore_quiet_hours,
    say,
    sms_to,
    start_beat,
    start_worker,
)
from clinic_crm.messaging.models import Message  # noqa: E402
from tests.messaging import fault_scenario  # noqa: E402
from tests.messaging.fake_provider import FakeProvider  # noqa: E402
from tests.processes import PrivateRedis  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_FAULT_MESSAGES", 5_000))
DELAY = float(os.environ.get("BENCH_PROVIDER_DELAY", 0.6))
KILLS = int(os.environ.get("BENCH_KILLS", 5))
RESTARTS = int(os.environ.get("BENCH_REDIS_RESTARTS", 2))
SEED = int(os.environ.get("BENCH_SEED", 1))


def one_run(fake, redis, faults: fault_scenario.Faults, expected: float, label: str):
    clean_up([])
    fake.reset()
    fake.configure(mode="slow", delay=DELAY)
    insert_due_messages(MESSAGES)
    ids = list(
        Message.objects.filter(idempotency_key__startswith=MARK + ":").values_list("pk", flat=True)
    )
    env = {**sms_to(fake.url), "REDIS_URL": redis.url}
    say(f"{label}: {len(ids):,} messages …")
    run = fault_scenario.run(
        ids=ids,
        redis=redis,
        start_worker=lambda name: start_worker(env, name=name, pool="prefork"),
        start_beat=lambda: start_beat(env, name="bench-faults"),
        expected=expected,
        faults=faults,
        timeout=max(900, 10 * expected),
        say=say,
    )
    return run, fault_scenario.outcome(ids, fake)


def main() -> None:
    before = quiet_hours_elsewhere()
    redis = PrivateRedis()
    redis.start()
    try:
        with FakeProvider() as fake:
            # Two runs at once (a prefork worker's two children), 16 calls each.
            estimate = MESSAGES / (2 * 16 / DELAY)
            clean, clean_outcome = one_run(
                fake, redis, fault_scenario.Faults(kills=0, redis_restarts=0), estimate, "clean"
            )
            faults = fault_scenario.Faults(kills=KILLS, redis_restarts=RESTARTS, seed=SEED)
            faulty, faulty_outcome = one_run(fake, redis, faults, clean.drain_seconds, "faults")
    finally:
        clean_up([])
        redis.stop()
        restore_quiet_hours(before)
    rows = [("drain time, s", f"{clean.drain_seconds:.1f}", f"{faulty.drain_seconds:.1f}")]
    for key, value in faulty_outcome.items():
        rows.append((key, str(clean_outcome[key]), str(value)))
    print("\n| figure | clean | faults |\n| --- | ---: | ---: |")
    for name, a, b in rows:
        print(f"| {name} | {a} | {b} |")
    print(
        f"\ndrain time faults / clean: {faulty.drain_seconds / clean.drain_seconds:.2f}\n"
        "after each kill, until every message then claimed was sent or retried, s: "
        + ", ".join(f"{t:.1f}" for t in faulty.takeovers)
        + "\nevery process alive after each Redis restart: "
        + ", ".join("yes" if alive else "NO" for alive in faulty.alive_after_restart)
        + "\nevents: "
        + "; ".join(faulty.events)
    )


if __name__ == "__main__":
    main()
