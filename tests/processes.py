"""Real processes for the fault tests: a private Redis server (so it can be restarted
without touching the shared one) and Celery workers bound to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def database_url(database: dict, name: str) -> str:
    """A ``postgres://`` URL for a Django database settings dict, with its password and
    options, for database ``name``."""
    user = quote(database["USER"] or "postgres", safe="")
    password = f":{quote(database['PASSWORD'], safe='')}" if database["PASSWORD"] else ""
    options = {k: v for k, v in database.get("OPTIONS", {}).items() if k != "connect_timeout"}
    query = f"?{urlencode(options)}" if options else ""
    return (
        f"postgres://{user}{password}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{quote(name, safe='')}{query}"
    )


def worker_env(broker_url: str, **settings: str) -> dict[str, str]:
    """The environment of a worker process on the test database: the application role
    as the test's own connection, the owner role as DATABASE_MIGRATE_URL."""
    from django.conf import settings as django_settings

    database = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": database_url(database, database["NAME"]),
        "DATABASE_MIGRATE_URL": database_url(django_settings.DATABASE_MIGRATE, database["NAME"]),
        "REDIS_URL": broker_url,
        **settings,
    }


# The deployed worker's options (Procfile, docker-compose.yml): no gossip, mingle or event
# heartbeats, which nothing here uses and which reconnect badly after a broker restart.
WORKER_OPTIONS = ("--without-gossip", "--without-mingle", "--without-heartbeat")


def start_worker(
    env: dict[str, str], name: str, loglevel: str = "INFO", *, pool: str = "solo"
) -> subprocess.Popen:
    """A Celery worker process: ``pool="solo"`` (one task at a time, in the process), or
    ``"prefork"`` with two children and the options of the deployed worker (Procfile)."""
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"test-{name}.log", "w")  # noqa: SIM115 - lives with the process
    options = ["--pool=solo"] if pool == "solo" else ["--pool=prefork", "--concurrency=2"]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "clinic_crm",
            "worker",
            *options,
            f"--loglevel={loglevel}",
            *WORKER_OPTIONS,
            f"--hostname={name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_beat(env: dict[str, str], name: str) -> subprocess.Popen:
    """Celery beat with the project's schedule (dispatch every minute) and a fresh
    schedule file of its own; its first dispatch comes a minute after it starts."""
    (ROOT / "var").mkdir(exist_ok=True)
    schedule = ROOT / "var" / f"{name}-beat-schedule"
    for stale in schedule.parent.glob(schedule.name + "*"):
        stale.unlink()
    log = open(ROOT / "var" / f"{name}-beat.log", "w")  # noqa: SIM115 - lives with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "clinic_crm", "beat", "--loglevel=INFO"],
        cwd=ROOT,
        env={**env, "CELERY_BEAT_SCHEDULE_FILENAME": str(schedule)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL to a process and its children at once, as the kernel's OOM killer or
    systemd's ``KillMode=control-group`` would end a prefork worker and its pool."""
    children = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent_of(entry) == process.pid
    ]
    for pid in [process.pid, *children]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


def _parent_of(entry: Path) -> int | None:
    try:  # /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM (a warm shutdown for Celery), then SIGKILL if it does not end in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(process)


def sender(broker_url: str) -> Celery:
    """A Celery client for the private broker (the test's own app talks to the shared one)."""
    app = Celery("fault-test", broker=broker_url, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = True
    return app


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
