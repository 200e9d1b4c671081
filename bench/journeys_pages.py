"""Benchmark of the staff pages under concurrent load, against the large data set.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python manage.py migrate && \
        .venv/bin/python manage.py seed_demo --patients 1000000     # once, ~10 min
    .venv/bin/python bench/journeys_pages.py

It starts gunicorn with the production gunicorn.conf.py and bench.settings (production
settings, a floor view, a Server-Timing header), logs in a verified administrator,
curator and manager by creating their sessions, then sends each page REQUESTS requests
from CLIENTS concurrent clients. For every page it prints the p50/p95 server time, its
p95 as a ratio to the floor (the smallest staff view behind the same middleware,
measured in the same run), the client-side p95 (which includes waiting for a free
worker), and the number of SQL queries the page makes for a small and a large case.
BENCH_PAGES=loyalty,search runs only the pages whose names contain those words.
"""

from __future__ import annotations

import http.client
import itertools
import os
import random
import runpy
import signal
import statistics
import subprocess
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

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from clinic_crm.catalogue.models import Branch, Service  # noqa: E402
from clinic_crm.staff.middleware import LOGIN_AT_SESSION_KEY  # noqa: E402
from clinic_crm.staff.models import User  # noqa: E402
from journeys.models import Task, TreatmentPlan  # noqa: E402
from metrics.models import RollupState  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", 10))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", 300))
PORT = int(os.environ.get("BENCH_PORT", 8765))
WORKERS = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"]
SEARCH_TERMS = ["петр", "иван", "смирнова", "кузн", "морозов ан", "+7916", "сокол", "волк"]


def verified_session(user: User) -> str:
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the staff backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    # As a password login stamps it: without it the absolute session lifetime ends the
    # session at once.
    session[LOGIN_AT_SESSION_KEY] = int(timezone.now().timestamp())
    session.create()
    return session.session_key


def pick_scenario():
    branch = (
        Branch.objects.annotate(doctors=Count("staff_profiles"))
        .filter(doctors__gte=10)
        .order_by("id")
        .first()
    )
    if branch is None:
        sys.exit(
            "No branch with ten doctors: load the data set with "
            "`manage.py seed_demo --patients 1000000` first."
        )
    admin = User.objects.filter(groups__name="administrator", profile__branch=branch).first()
    curator = (
        Task.objects.filter(state="open", assignee__profile__branch=branch)
        .values_list("assignee", flat=True)
        .first()
    )
    curator = (
        User.objects.get(pk=curator)
        if curator
        else User.objects.filter(groups__name="curator", profile__branch=branch).first()
    )
    timeline_patients = list(
        TreatmentPlan.objects.filter(branch=branch, status="in_progress").values_list(
            "patient_id", flat=True
        )[:200]
    )
    manager = User.objects.filter(groups__name="manager").order_by("id").first()
    return branch, admin, curator, manager, timeline_patients


_unseen = itertools.count(1)


def _unseen_period(days: int = 365) -> str:
    """A period (12 months unless told) ending a day earlier than the last one asked for,
    so the dashboard computes its figures rather than finding them kept."""
    end = timezone.localdate() - timedelta(days=next(_unseen))
    return f"/metrics/dashboard/?start={end - timedelta(days=days - 1)}&end={end}"


def page_paths(branch, timeline_patients, doctors, rng):
    today = timezone.localdate()
    service = Service.objects.filter(specialty__isnull=False).order_by("id").first()
    slots = f"/calendar/slots/?branch={branch.pk}&service={service.pk}&date={today}"
    fortnight = f"{slots}&until={today + timedelta(days=13)}"
    today = today.isoformat()
    return {
        "floor (minimal staff view)": lambda: "/bench/floor/",
        "patient search": lambda: "/patients/?q=" + urllib.parse.quote(rng.choice(SEARCH_TERMS)),
        "patient timeline": lambda: f"/patients/{rng.choice(timeline_patients)}/timeline/",
        "day calendar, 10 doctors": lambda: f"/calendar/?branch={branch.pk}&date={today}",
        "routing queue": lambda: f"/routing/?branch={branch.pk}",
        "curator worklist": lambda: "/worklist/",
        "patient card": lambda: f"/patients/{rng.choice(timeline_patients)}/",
        "slot search, 1 day": lambda: slots + f"&until={today}",
        "slot search, 14 days": lambda: fortnight,
        "staff list": lambda: "/staff/",
        "audit log": lambda: "/audit/",
        "loyalty dashboard, 12 months": lambda: "/metrics/dashboard/",
        # A period nobody asked for since the rollups last changed: computed, not kept.
        "loyalty dashboard, 12 months, computed": _unseen_period,
        "loyalty dashboard, a doctor": lambda: f"/metrics/dashboard/?doctor={rng.choice(doctors)}",
    }


def start_server() -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "clinic_crm.wsgi:application",
            # The production configuration (sync workers), on a local port.
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    sys.exit("gunicorn did not start: " + server.stderr.read().decode()[-2000:])


def run_load(path_for, cookie: str) -> tuple[list[float], list[float]]:
    server_ms: list[float] = []
    client_ms: list[float] = []
    lock = threading.Lock()
    per_client = REQUESTS // CLIENTS

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine_s, mine_c = [], []
        for _ in range(per_client):
            started = time.perf_counter()
            conn.request("GET", path_for(), headers={"Cookie": f"sessionid={cookie}"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise RuntimeError(f"{path_for.__name__}: HTTP {response.status}")
            timing = response.getheader("Server-Timing", "app;dur=0").split("dur=")[1]
            mine_s.append(float(timing))
            mine_c.append(elapsed)
        with lock:
            server_ms.extend(mine_s)
            client_ms.extend(mine_c)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return server_ms, client_ms


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


def query_count(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.get("Location"))
    return len(queries.captured_queries)


def main() -> None:
    rng = random.Random(7)  # noqa: S311
    branch, admin, curator, manager, timeline_patients = pick_scenario()
    sessions = {
        "admin": verified_session(admin),
        "curator": verified_session(curator),
        "manager": verified_session(manager),
    }
    doctors = list(
        User.objects.filter(groups__name="doctor", profile__branch=branch).values_list(
            "pk", flat=True
        )
    )
    paths = every = page_paths(branch, timeline_patients, doctors, rng)
    only = [p for p in os.environ.get("BENCH_PAGES", "").split(",") if p]
    if only:  # e.g. BENCH_PAGES=loyalty: those pages (and the floor) only
        paths = {
            name: path
            for name, path in paths.items()
            if name.startswith("floor") or any(word in name for word in only)
        }
    cookie_for = {
        name: sessions[
            "curator"
            if name == "curator worklist"
            else "manager"
            if name.startswith("loyalty") or name in ("staff list", "audit log")
            else "admin"
        ]
        for name in paths
    }

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM patients_patient), "
            "(SELECT count(*) FROM journeys_visit), "
            "(SELECT count(*) FROM journeys_journeyevent)"
        )
        patients, visits, events = cursor.fetchone()
    print(
        f"Data: {patients:,} patients, {visits:,} visits, {events:,} journey events; "
        f"branch {branch.name!r}; {CLIENTS} concurrent clients, {REQUESTS} requests per "
        f"page; gunicorn as in gunicorn.conf.py ({WORKERS} sync workers) on {os.cpu_count()} "
        "cores."
    )

    # Query counts, in process: a small and a large case of each page.
    client_admin, client_curator, client_manager = Client(), Client(), Client()
    client_admin.cookies[settings.SESSION_COOKIE_NAME] = sessions["admin"]
    client_curator.cookies[settings.SESSION_COOKIE_NAME] = sessions["curator"]
    client_manager.cookies[settings.SESSION_COOKIE_NAME] = sessions["manager"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT patient_id, count(*) FROM journeys_visit WHERE patient_id = ANY(%s) "
            "GROUP BY patient_id ORDER BY count(*)",
            [timeline_patients],
        )
        ordered = [row[0] for row in cursor.fetchall()]
    small, large = ordered[0], ordered[-1]
    # Nothing kept from an earlier run: new versions of the rollups and cohort figures,
    # as a refresh and the nightly snapshot make.
    RollupState.touch()
    RollupState.touch(cohorts=True)
    # The dashboard asked twice: the first computes the figures, the second finds them kept.
    small_day, large_year = (
        [query_count(client_manager, path) for path in (path, path)]
        for path in (_unseen_period(days=1), _unseen_period())
    )
    queries = {
        "patient search": (
            query_count(client_admin, "/patients/?q=zzzz"),
            query_count(client_admin, "/patients/?q=петр"),
        ),
        "patient timeline": (
            query_count(client_admin, f"/patients/{small}/timeline/"),
            query_count(client_admin, f"/patients/{large}/timeline/"),
        ),
        "day calendar, 10 doctors": (
            query_count(client_admin, f"/calendar/?branch={branch.pk}&date=2000-01-03"),
            query_count(client_admin, f"/calendar/?branch={branch.pk}"),
        ),
        "routing queue": (
            query_count(client_admin, f"/routing/?branch={branch.pk}"),
            query_count(client_admin, f"/routing/?branch={branch.pk}"),
        ),
        "curator worklist": (
            query_count(client_curator, "/worklist/"),
            query_count(client_curator, "/worklist/"),
        ),
        "patient card": (
            query_count(client_admin, f"/patients/{small}/"),
            query_count(client_admin, f"/patients/{large}/"),
        ),
        "slot search, 1 day": (
            query_count(client_admin, every["slot search, 1 day"]()),
            query_count(client_admin, every["slot search, 1 day"]()),
        ),
        "slot search, 14 days": (
            query_count(client_admin, every["slot search, 1 day"]()),
            query_count(client_admin, every["slot search, 14 days"]()),
        ),
        "staff list": (
            query_count(client_manager, "/staff/?q=zzzz"),
            query_count(client_manager, "/staff/"),
        ),
        "audit log": (
            query_count(client_manager, "/audit/?patient=999999999"),
            query_count(client_manager, "/audit/"),
        ),
        "loyalty dashboard, 12 months, computed": (small_day[0], large_year[0]),
        "loyalty dashboard, 12 months": (small_day[1], large_year[1]),
    }

    server = start_server()
    try:
        results = {}
        for name, path_for in paths.items():
            path_for.__name__ = name
            run_load(path_for, cookie_for[name])  # warm-up round
            server_ms, client_ms = run_load(path_for, cookie_for[name])
            results[name] = (statistics.median(server_ms), p95(server_ms), p95(client_ms))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    floor = results["floor (minimal staff view)"][1]
    print(
        f"\n{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'p95/floor':>10} "
        f"{'client p95':>11} {'queries (small, large)':>24}"
    )
    for name, (p50_server, p95_server, p95_client) in results.items():
        q = queries.get(name)
        q_text = f"{q[0]}, {q[1]}" if q else "—"
        print(
            f"{name:40} {p50_server:8.1f} {p95_server:8.1f} {p95_server / floor:10.2f} "
            f"{p95_client:11.1f} {q_text:>24}"
        )


if __name__ == "__main__":
    main()
