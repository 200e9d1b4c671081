"""One outbox run under faults, with real processes, as a clinic's server lives it.

Due SMS messages are sent by a prefork worker (two children) with Celery beat, through
a private Redis broker, to the fake SMSC provider; meanwhile the worker is SIGKILLed
(with its pool) at random moments and started again a second later, as its supervisor
would; the broker's Redis is killed and started again (empty); a second worker joins
for part of the run. Then the outbox and the provider's own log are compared.

Used by ``bench/outbox_faults.py`` (5,000 messages, timed against a run without faults)
and by ``tests/messaging/test_faults.py`` (a short run that asserts what must hold,
without timings)."""

from __future__ import annotations

import contextlib
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from clinic_crm.messaging.models import Message
from tests.processes import PrivateRedis, kill_tree, sender, stop

DISPATCH = "clinic_crm.messaging.tasks.messages_dispatch_task"
OPEN = ("pending", "sending")


@dataclass(frozen=True)
class Faults:
    """What happens during the run; moments are shares of the run's expected length."""

    kills: int = 5
    redis_restarts: int = 2
    redis_down: tuple[float, float] = (5.0, 8.0)  # seconds, drawn per restart
    second_worker: tuple[float, float] | None = (0.25, 0.6)
    window: tuple[float, float] = (0.1, 0.8)  # faults fall in this share of the run
    restart_after: float = 1.0  # a killed worker is started again after this long
    seed: int = 1


@dataclass
class Run:
    drain_seconds: float = 0.0
    takeovers: list[float] = field(default_factory=list)  # per kill: s until all claimed settle
    alive_after_restart: list[bool] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


class _Processes:
    """The workers and beat of one run; faults change them from their own threads."""

    def __init__(self, start_worker: Callable[[str], subprocess.Popen], beat) -> None:
        self.lock = threading.Lock()
        self.start_worker = start_worker
        self.generation = 0
        self.main = self._next()
        self.second: subprocess.Popen | None = None
        self.beat = beat
        self.retired: list[subprocess.Popen] = []  # told to stop; reaped at the end

    def _next(self) -> subprocess.Popen:
        self.generation += 1
        return self.start_worker(f"fault-worker-{self.generation}")

    def kill_and_restart_main(self, restart_after: float, before: Callable[[], None]) -> None:
        """``before`` runs under the lock right before the kill (what is claimed then)."""
        with self.lock:
            before()
            kill_tree(self.main)
            time.sleep(restart_after)  # the supervisor's back-off
            self.main = self._next()

    def start_second(self) -> None:
        with self.lock:
            self.second = self.start_worker("fault-second")

    def stop_second(self) -> None:
        """A warm shutdown, not waited for: the worker finishes its run and exits."""
        with self.lock:
            if self.second is not None:
                self.second.terminate()
                self.retired.append(self.second)
                self.second = None

    def all_alive(self) -> bool:
        with self.lock:
            return all(p.poll() is None for p in (self.main, self.second, self.beat) if p)

    def stop_all(self) -> None:
        for process in (self.main, self.second, self.beat, *self.retired):
            if process is not None:
                stop(process)


def _schedule(faults: Faults, expected: float) -> list[tuple[float, str]]:
    rng = random.Random(faults.seed)
    low, high = (share * expected for share in faults.window)
    moments = [(rng.uniform(low, high), "kill") for _ in range(faults.kills)]
    moments += [(rng.uniform(low, high), "redis") for _ in range(faults.redis_restarts)]
    if faults.second_worker:
        start, end = faults.second_worker
        moments += [(start * expected, "second-start"), (end * expected, "second-stop")]
    return sorted(moments)


def _claims(ids: list[int]) -> dict[int, str]:
    return dict(Message.objects.filter(pk__in=ids, status="sending").values_list("pk", "claim"))


def _open(ids: list[int]) -> int:
    return Message.objects.filter(pk__in=ids, status__in=OPEN).count()


def _kick(redis: PrivateRedis) -> None:
    with contextlib.suppress(Exception):  # the broker may be away; beat looks again
        sender(redis.url).send_task(DISPATCH)


def run(
    *,
    ids: list[int],
    redis: PrivateRedis,
    start_worker: Callable[[str], subprocess.Popen],
    start_beat: Callable[[], subprocess.Popen],
    expected: float,
    faults: Faults | None,
    timeout: float,
    say: Callable[[str], None] = lambda text: None,
) -> Run:
    """Sends the messages ``ids`` (due now) under ``faults`` (None: a clean run) and
    returns how long they took to settle, how long after each kill every message then
    claimed was sent or put back for a retry, and whether every process was alive after
    each Redis restart. Each fault happens at its moment in a thread of its own, so a
    slow one (Redis down for seconds) never holds back the next."""
    result = Run()
    rng = random.Random(faults.seed + 1 if faults else 0)
    processes = _Processes(start_worker, start_beat())
    watching: list[tuple[float, list[int]]] = []  # per kill: when, the messages claimed then
    started = time.monotonic()

    def kill() -> None:
        def note_claims() -> None:  # the messages claimed at the moment of the kill
            claimed = Message.objects.filter(pk__in=ids, status="sending")
            watching.append((time.monotonic(), list(claimed.values_list("pk", flat=True))))

        processes.kill_and_restart_main(faults.restart_after, before=note_claims)

    redis_lock = threading.Lock()  # restarts that fall close together take turns

    def restart_redis() -> None:
        with redis_lock:
            redis.stop()
            time.sleep(rng.uniform(*faults.redis_down))
            redis.start()
            time.sleep(5)  # the processes notice, reconnect, or die
            result.alive_after_restart.append(processes.all_alive())

    actions = {
        "kill": kill,
        "redis": restart_redis,
        "second-start": processes.start_second,
        "second-stop": processes.stop_second,
    }

    def at(moment: float, what: str) -> threading.Thread:
        def act() -> None:
            time.sleep(max(0.0, started + moment - time.monotonic()))
            result.events.append(f"{time.monotonic() - started:.1f} s {what}")
            say(f"  {time.monotonic() - started:6.1f} s: {what}")
            try:
                actions[what]()
            finally:
                connection.close()  # this thread's own

        thread = threading.Thread(target=act, name=f"fault-{what}", daemon=True)
        thread.start()
        return thread

    _kick(redis)  # what the commit of due messages does
    threads = [at(moment, what) for moment, what in (_schedule(faults, expected) if faults else [])]
    try:
        while _open(ids) or any(t.is_alive() for t in threads):
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{_open(ids)} messages still open after {timeout:.0f} s")
            with processes.lock:
                looking, watching[:] = list(watching), []
            for killed_at, claimed in looking:
                if Message.objects.filter(pk__in=claimed, status="sending").exists():
                    with processes.lock:
                        watching.append((killed_at, claimed))
                else:
                    result.takeovers.append(time.monotonic() - killed_at)
            if not _open(ids) and not result.drain_seconds:
                result.drain_seconds = time.monotonic() - started
            time.sleep(0.25)
        result.drain_seconds = result.drain_seconds or time.monotonic() - started
        result.takeovers += [time.monotonic() - killed_at for killed_at, _ in watching]
    finally:
        for thread in threads:
            thread.join(timeout=30)
        processes.stop_all()
    return result


def outcome(ids: list[int], fake) -> dict[str, object]:
    """The outbox against the provider's log: what was sent, failed (by reason), asked
    about; and every way a message could be lost or doubled."""
    wanted = {str(pk) for pk in ids}
    rows = Message.objects.filter(pk__in=ids)
    status = Counter(rows.values_list("status", flat=True))
    failed = Counter(
        (error.split(":", 1)[0] if error.startswith("Delivery unknown") else error)
        for error in rows.filter(status="failed").values_list("last_error", flat=True)
    )
    requested = Counter(r["fields"].get("id") for r in fake.send_requests())
    delivered = Counter(a["id"] for a in fake.accepted)
    sent_ids = {str(pk) for pk in rows.filter(status="sent").values_list("pk", flat=True)}
    return {
        "messages": len(ids),
        "sent": status["sent"],
        "failed": dict(failed),
        "open": status["pending"] + status["sending"],
        "provider receipts": sum(delivered[pk] for pk in wanted),
        "send requests": sum(requested[pk] for pk in wanted),
        "ids requested twice or more": sum(1 for pk in wanted if requested[pk] > 1),
        "ids delivered twice or more": sum(1 for pk in wanted if delivered[pk] > 1),
        "ids never requested": sum(1 for pk in wanted if not requested[pk]),
        "sent but no receipt": len(sent_ids - set(delivered)),
        "receipt but not sent": len((wanted & set(delivered)) - sent_ids),
        "delivery unknown": failed["Delivery unknown"],
        "status look-ups": sum(
            1 for r in fake.status_requests() if r["fields"].get("id") in wanted
        ),
    }
