"""What the one access rule for patient data costs, on the large data set.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench
    .venv/bin/python manage.py migrate && \\
        .venv/bin/python manage.py seed_demo --patients 1000000     # once
    .venv/bin/python bench/access.py

Each read the pages make is timed twice in the same run: for a manager (who reads every
patient: no condition is added) and for a doctor and a curator of one branch (the rule's
branch and care conditions). p50/p95 of RUNS calls each and the ratio rule / no rule.

- the patient search page's matches (``patient_search_bounded``: at most 1,000 cards, one
  page of them) for a common fragment, two fragments, a phone fragment;
- opening one card by id (``patient_or_404``), of the user's branch and of another branch
  in their care;
- a visit by id through the rule (``visit_or_404``), as the calendar's panel does.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # production settings

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from clinic_crm.staff.roles import Role  # noqa: E402
from journeys import access as journey_access  # noqa: E402
from journeys.models import TreatmentPlan, Visit  # noqa: E402
from patients import access, selectors  # noqa: E402
from patients.models import Patient  # noqa: E402

RUNS = int(os.environ.get("BENCH_ACCESS_RUNS", 40))
User = get_user_model()


def timed(fn) -> tuple[float, float]:
    fn()  # warm
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return statistics.median(runs), runs[int(len(runs) * 0.95) - 1]


def fresh(user):
    """The user as a request loads it (nothing cached on the instance)."""
    return User.objects.select_related("profile").get(pk=user.pk)


def search_page(user, query: str):
    def run():
        patients, _more = selectors.patient_search_bounded(
            query=query, patients=access.patients_visible(fresh(user))
        )
        return list(patients[:51])

    return run


def main() -> None:
    manager = User.objects.filter(groups__name=Role.MANAGER).first()
    doctor = (
        User.objects.filter(
            groups__name=Role.DOCTOR, profile__branch__isnull=False, email__endswith="@scale.clinic"
        )
        .order_by("pk")
        .first()
    )
    curator = (
        User.objects.filter(
            groups__name=Role.CURATOR,
            profile__branch__isnull=False,
            email__endswith="@scale.clinic",
        )
        .order_by("pk")
        .first()
    )
    if manager is None or doctor is None or curator is None:
        sys.exit("Seed the large data set first (see the docstring).")
    print(
        f"patients {Patient.objects.count():,}, visits {Visit.objects.count():,}; "
        f"doctor {doctor.email}, curator {curator.email}; {RUNS} runs each"
    )
    branch = doctor.profile.branch_id
    own = Patient.objects.filter(home_branch_id=branch).order_by("pk").first()
    cared = (
        Visit.objects.filter(doctor=doctor)
        .exclude(patient__home_branch_id=branch)
        .values_list("patient_id", flat=True)
        .first()
    ) or own.pk
    plan_patient = (
        TreatmentPlan.objects.filter(curator=curator).values_list("patient_id", flat=True).first()
    )
    visit = Visit.objects.filter(branch_id=branch).order_by("-pk").first()
    sample = Patient.objects.filter(home_branch_id=branch).order_by("pk")[1000]

    cases = [
        ("search 'петр' (common fragment)", lambda u: search_page(u, "петр")),
        ("search 'петр ива' (two fragments)", lambda u: search_page(u, "петр ива")),
        ("search by phone fragment", lambda u: search_page(u, sample.phone[-7:])),
        (
            "open a card of the branch",
            lambda u: lambda: access.patient_or_404(fresh(u), own.pk),
        ),
        (
            "open a card in the doctor's care",
            lambda u: lambda: access.patient_or_404(fresh(u), cared),
        ),
        (
            "open a visit of the branch",
            lambda u: lambda: journey_access.visit_or_404(fresh(u), visit.pk),
        ),
    ]
    print(f"{'read':40s} {'no rule p50/p95':>18s} {'doctor p50/p95':>18s} {'ratio p95':>9s}")
    for label, make in cases:
        base = timed(make(manager))
        rule = timed(make(doctor))
        print(
            f"{label:40s} {base[0]:8.1f}/{base[1]:7.1f} ms {rule[0]:8.1f}/{rule[1]:7.1f} ms"
            f" {rule[1] / base[1]:8.2f}×"
        )
    if plan_patient:
        base = timed(lambda: access.patient_or_404(fresh(manager), plan_patient))
        rule = timed(lambda: access.patient_or_404(fresh(curator), plan_patient))
        print(
            f"{'open a card the curator curates':40s} {base[0]:8.1f}/{base[1]:7.1f} ms"
            f" {rule[0]:8.1f}/{rule[1]:7.1f} ms {rule[1] / base[1]:8.2f}×  (curator)"
        )
    base = timed(search_page(manager, "петр"))
    rule = timed(search_page(curator, "петр"))
    print(
        f"{'search петр, curator':40s} {base[0]:8.1f}/{base[1]:7.1f} ms"
        f" {rule[0]:8.1f}/{rule[1]:7.1f} ms {rule[1] / base[1]:8.2f}×  (curator)"
    )


if __name__ == "__main__":
    main()
