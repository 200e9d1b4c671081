"""Where one staff page's server time goes, in process, against the data set.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python bench/profile_page.py /worklist/ curator [repeats]

Logs in a verified member of the page benchmark's branch (role: admin, curator or
manager), asks for the page ``repeats`` times (default 20) under cProfile, and prints
the SQL time and count, the wall time, and the functions with the most cumulative time.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.journeys_pages import pick_scenario, verified_session  # noqa: E402


def main() -> None:
    path, role = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    _branch, admin, curator, manager, _patients = pick_scenario()
    user = {"admin": admin, "curator": curator, "manager": manager}[role]
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = verified_session(user)
    assert client.get(path).status_code == 200  # warm
    sql = 0.0
    profile = cProfile.Profile()
    started = time.perf_counter()
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            profile.enable()
            client.get(path)
            profile.disable()
        sql += sum(float(q["time"]) for q in queries.captured_queries)
    wall = (time.perf_counter() - started) / repeats * 1000
    print(
        f"{path}: {wall:.1f} ms a request, SQL {sql / repeats * 1000:.1f} ms in "
        f"{len(queries.captured_queries)} queries"
    )
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:4]:
        print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:600]}")
    stats = pstats.Stats(profile).sort_stats(os.environ.get("PROFILE_SORT", "cumulative"))
    stats.print_stats(int(os.environ.get("PROFILE_LINES", 35)))


if __name__ == "__main__":
    main()
