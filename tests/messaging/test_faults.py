"""Faults with real processes: a worker killed with SIGKILL mid-batch, and the Redis
broker restarted in the middle of a dispatch. Every message is delivered exactly once."""

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from clinic_crm.messaging.models import Message, MessageKind
from tests.factories import PatientFactory
from tests.messaging import fault_scenario
from tests.messaging.conftest import consent
from tests.processes import (
    PrivateRedis,
    sender,
    start_beat,
    start_worker,
    wait_until,
    worker_env,
)

pytestmark = pytest.mark.django_db(transaction=True)

DISPATCH = "clinic_crm.messaging.tasks.messages_dispatch_task"
COUNT = 40


def _daytime_zone() -> str:
    """A time zone where it is now early afternoon, so quiet hours never get in the way
    whenever the suite runs."""
    hour = datetime.now(UTC).hour
    offset = (13 - hour + 12) % 24 - 12  # UTC+offset shows ~13:00; Etc/GMT signs are inverted
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


def _due_messages(count: int) -> list[Message]:
    zone = _daytime_zone()
    now = timezone.now()
    messages = []
    for patient in PatientFactory.create_batch(count, time_zone=zone):
        consent(patient)
        messages.append(
            Message(
                patient=patient,
                kind=MessageKind.FOLLOW_UP,
                channel="sms",
                language="ru",
                body=f"How do you feel, {patient.first_name}?",
                scheduled_for=now,
                due_at=now,
                idempotency_key=f"fault:{patient.pk}",
            )
        )
    return Message.objects.bulk_create(messages)


def _settled() -> bool:
    return not Message.objects.filter(status__in=["pending", "sending"]).exists()


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def workers():
    started = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except Exception:  # noqa: BLE001 - make sure it is gone
                process.kill()


def _env(private_redis, fake, **extra):
    return worker_env(
        private_redis.url,
        **{
            "MESSAGING_SMS_BACKEND": "smsc",
            "SMSC_API_URL": fake.smsc_url,
            "MESSAGING_BATCH_SIZE": "10",
            **extra,
        },
    )


def _dispatch_until_settled(private_redis, *, what: str, interval: float = 2) -> None:
    """Queues a dispatch (what beat does every minute) until no message is pending or
    being sent; a broker still coming back just means try again."""

    def settled() -> bool:
        try:
            sender(private_redis.url).send_task(DISPATCH)
        except Exception:  # noqa: BLE001 - the worker may still be reconnecting
            return False
        return _settled()

    wait_until(settled, timeout=90, interval=interval, what=what)


def _kill_mid_batch(fake, private_redis, workers, name: str) -> tuple[list[Message], dict]:
    """A solo worker SIGKILLed mid-batch: rows claimed, one request in flight. Returns the
    messages and the workers' environment (lease 4 s); the fake answers at once again.
    One call at a time, so that a batch of ten takes a second and the kill (within a
    tenth of a second of the twelfth delivery) always falls inside one."""
    messages = _due_messages(COUNT)
    fake.configure(mode="slow", delay=0.1)
    env = _env(
        private_redis, fake, MESSAGING_SEND_LEASE_SECONDS="4", MESSAGING_SEND_CONCURRENCY="1"
    )
    first = start_worker(env, name)
    workers.append(first)
    sender(private_redis.url).send_task(DISPATCH)
    wait_until(lambda: fake.accepted_count() >= 12, timeout=60, what="first deliveries")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert Message.objects.filter(status="sending").exists()  # its claim is left behind
    fake.configure(mode="ok")
    return messages, env


def _exactly_once(fake, messages):
    delivered = Counter(a["id"] for a in fake.accepted)
    assert delivered == Counter({str(m.pk): 1 for m in messages})
    assert Message.objects.filter(status="sent").count() == len(messages)


def test_worker_killed_mid_batch_each_message_sent_exactly_once(fake, private_redis, workers):
    messages, env = _kill_mid_batch(fake, private_redis, workers, "messaging-kill-1")
    workers.append(start_worker(env, "messaging-kill-2"))
    _dispatch_until_settled(private_redis, what="all messages settled")
    _exactly_once(fake, messages)


def test_redis_restarted_mid_dispatch_loses_no_message(fake, private_redis, workers):
    messages = _due_messages(COUNT)
    fake.configure(mode="slow", delay=0.1)
    worker = start_worker(_env(private_redis, fake), "messaging-redis")
    workers.append(worker)
    sender(private_redis.url).send_task(DISPATCH)
    wait_until(lambda: fake.accepted_count() >= 8, timeout=60, what="first deliveries")
    private_redis.stop()  # Redis goes away mid-dispatch, keeping nothing
    wait_until(lambda: fake.accepted_count() >= 16, timeout=60, what="dispatch going on")
    private_redis.start()  # back, empty
    fake.configure(mode="ok")
    _dispatch_until_settled(private_redis, what="all messages settled")
    assert worker.poll() is None  # the worker rode it out
    _exactly_once(fake, messages)


def test_prefork_worker_survives_redis_restarts_and_keeps_sending(fake, private_redis, workers):
    """The deployed worker (prefork, two children): Redis restarted three times while a
    dispatch run is working, each run ending (and acknowledging its task) after the broker
    came back. The worker is alive after every restart and sends each round's messages."""
    fake.configure(mode="slow", delay=0.3)
    worker = start_worker(_env(private_redis, fake), "messaging-prefork", pool="prefork")
    workers.append(worker)
    delivered: list[Message] = []
    for round_ in range(3):
        messages = _due_messages(60)
        delivered += messages
        sender(private_redis.url).send_task(DISPATCH)
        target = len(delivered) - 50
        wait_until(
            lambda target=target: fake.accepted_count() >= target,
            timeout=60,
            what=f"round {round_} under way",
        )
        private_redis.stop()
        time.sleep(1 + round_)  # down for a while; the run goes on sending meanwhile
        private_redis.start()
        _dispatch_until_settled(private_redis, what=f"round {round_} settled")
        time.sleep(2)  # the run's acknowledgement, on the new connection, has happened
        assert worker.poll() is None, f"the worker exited after restart {round_ + 1}"
    _exactly_once(fake, delivered)


def test_a_killed_workers_claims_are_taken_over_without_waiting_for_beat(
    fake, private_redis, workers
):
    """No beat and nobody queueing dispatches: the worker that starts after the kill
    looks at once, finds the dead worker's claims still leased, and runs again the moment
    they run out (a run queued for then, not beat's next minute)."""
    messages, env = _kill_mid_batch(fake, private_redis, workers, "takeover-1")
    workers.append(start_worker(env, "takeover-2", pool="prefork"))
    wait_until(_settled, timeout=60, interval=0.2, what="the claims taken over")
    _exactly_once(fake, messages)


def test_a_live_dispatchers_long_batch_keeps_its_claim(fake, private_redis, workers):
    """A batch that takes longer than the lease (renewed while it is worked) is never
    taken over by a second dispatcher asking all the time: nothing is requested twice."""
    messages = _due_messages(12)
    fake.configure(mode="slow", delay=0.5)
    env = _env(
        private_redis,
        fake,
        MESSAGING_SEND_LEASE_SECONDS="2",
        MESSAGING_SEND_CONCURRENCY="1",
        MESSAGING_BATCH_SIZE="12",
    )
    for name in ("renew-1", "renew-2"):
        workers.append(start_worker(env, name))
    _dispatch_until_settled(private_redis, what="all messages settled", interval=0.5)
    _exactly_once(fake, messages)
    assert Counter(r["fields"]["id"] for r in fake.send_requests()) == Counter(
        {str(m.pk): 1 for m in messages}
    )


def test_a_run_under_kills_redis_restarts_and_a_second_worker_loses_and_doubles_nothing(
    fake, private_redis
):
    """The benchmark's scenario (bench/outbox_faults.py), short: the deployed worker with
    beat, killed twice with its pool at random moments and started again, the broker
    restarted once, a second worker for part of the run. Every message is delivered
    exactly once and marked sent, nothing is left open, and every process outlives the
    broker's restart."""
    messages = _due_messages(150)
    ids = [m.pk for m in messages]
    fake.configure(mode="slow", delay=0.2)
    env = _env(
        private_redis, fake, MESSAGING_SEND_LEASE_SECONDS="4", MESSAGING_SEND_CONCURRENCY="2"
    )
    run = fault_scenario.run(
        ids=ids,
        redis=private_redis,
        start_worker=lambda name: start_worker(env, name, pool="prefork"),
        start_beat=lambda: start_beat(env, "fault-test"),
        expected=15,
        faults=fault_scenario.Faults(
            kills=2, redis_restarts=1, redis_down=(1, 2), second_worker=(0.2, 0.6), seed=7
        ),
        timeout=240,
    )
    outcome = fault_scenario.outcome(ids, fake)
    assert outcome["sent"] == len(ids), outcome
    assert outcome["open"] == 0
    assert outcome["failed"] == {}
    assert outcome["ids delivered twice or more"] == 0
    assert outcome["sent but no receipt"] == outcome["receipt but not sent"] == 0
    _exactly_once(fake, messages)
    assert len(run.takeovers) == 2
    assert run.alive_after_restart == [True]
