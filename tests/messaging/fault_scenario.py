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
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

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
    takeovers: list[float] = field(default_factory=list)  # seconds per kill
    alive_after_restart: list[bool] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


class _Processes:
    def __init__(self, start_worker: Callable[[str], subprocess.Popen]) -> None:
        self.start_worker = start_worker
        self.generation = 0
        self.main = self._next()
        self.second: subprocess.Popen | None = None

    def _next(self) -> subprocess.Popen:
        self.generation += 1
        return self.start_worker(f"fault-worker-{self.generation}")

    def kill_main(self) -> None:
        kill_tree(self.main)

    def restart_main(self) -> None:
        self.main = self._next()

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in (self.main, self.second) if p is not None]


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
    returns how long they took to settle, how long each kill's claims took to be taken
    over, and whether every process was alive after each Redis restart."""
    result = Run()
    schedule = _schedule(faults, expected) if faults else []
    rng = random.Random(faults.seed + 1 if faults else 0)
    beat = start_beat()
    processes = _Processes(start_worker)
    watching: list[tuple[float, dict[int, str]]] = []  # per kill: when, claims it held
    started = time.monotonic()
    _kick(redis)  # what the commit of due messages does
    try:
        while _open(ids):
            now = time.monotonic() - started
            if now > timeout:
                raise AssertionError(f"{_open(ids)} messages still open after {timeout:.0f} s")
            while schedule and schedule[0][0] <= now:
                _at, what = schedule.pop(0)
                result.events.append(f"{now:6.1f} s {what}")
                say(f"  {now:6.1f} s: {what}")
                if what == "kill":
                    claims = _claims(ids)
                    processes.kill_main()
                    watching.append((time.monotonic(), claims))
                    time.sleep(faults.restart_after)
                    processes.restart_main()
                elif what == "redis":
                    redis.stop()
                    time.sleep(rng.uniform(*faults.redis_down))
                    redis.start()
                    time.sleep(5)  # the processes notice, reconnect, or die
                    result.alive_after_restart.append(
                        all(p.poll() is None for p in [*processes.alive(), beat])
                    )
                elif what == "second-start":
                    processes.second = start_worker("fault-second")
                elif what == "second-stop" and processes.second is not None:
                    stop(processes.second)
                    processes.second = None
            still = []
            for killed_at, claims in watching:
                current = _claims(list(claims))
                if any(current.get(pk) == claim for pk, claim in claims.items()):
                    still.append((killed_at, claims))
                else:
                    result.takeovers.append(time.monotonic() - killed_at)
            watching = still
            time.sleep(0.25)
        result.drain_seconds = time.monotonic() - started
        for killed_at, _claims_held in watching:  # settled between two looks
            result.takeovers.append(time.monotonic() - killed_at)
    finally:
        for process in [*processes.alive(), beat]:
            stop(process)
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
