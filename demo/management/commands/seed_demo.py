"""Demo data: branches, staff with one account per role, patients, journeys in every
state, and every doctor's calendar full around now. `make run` calls it with --if-empty,
so a database that has staff is never touched; without it a second run adds nothing to a
database that already has the demo clinic.
"""

import random
import time
from datetime import date, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clinic_crm.catalogue.models import Branch, Specialty
from clinic_crm.db import owner_connection
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from demo.clinic import DEMO_PASSWORD, DOCTORS
from demo.feedback import demo_recovery_create, demo_responses_create, scale_responses_create
from demo.journeys import demo_journeys_create
from demo.patients import fake_patient_row
from demo.scale import scale_data_create
from journeys.access import care_rebuild
from journeys.models import Visit
from metrics.cohorts import cohorts_snapshot
from metrics.rollups import rollups_rebuild, rollups_refresh
from patients.models import ConsentChannel, ConsentKind, ConsentRecord, Patient

STAFF = [
    ("admin@demo.clinic", Role.ADMINISTRATOR, "Анна", "Смирнова", None, ""),
    (
        "doctor@demo.clinic",
        Role.DOCTOR,
        "Игорь",
        "Петров",
        "Ортодонтия",
        "Врач-ортодонт, 12 лет практики. Спокойно объясняет каждый шаг лечения.",
    ),
    ("admin.sokol@demo.clinic", Role.ADMINISTRATOR, "Ирина", "Белова", None, ""),
    ("curator@demo.clinic", Role.CURATOR, "Мария", "Кузнецова", None, ""),
    ("manager@demo.clinic", Role.MANAGER, "Олег", "Соколов", None, ""),
]
CALL_CENTRE = {"admin@demo.clinic"}
BRANCH_DESKS = {"admin.sokol@demo.clinic"}
SCALE_THRESHOLD = 20_000
# Patients on treatment plans; the others fill the doctors' calendars.
JOURNEY_PATIENTS = 60
BRANCHES = [
    (
        "Центральный филиал",
        "Москва, ул. Тверская, 10",
        "Парковка во дворе, въезд с Малого Гнездниковского переулка.",
    ),
    ("Филиал на Соколе", "Москва, Ленинградский пр-т, 75", "5 минут от метро «Сокол», выход №2."),
]


class Command(BaseCommand):
    help = "Loads demo data: branches, staff (one account per role), patients and journeys."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when staff accounts already exist."
        )
        parser.add_argument(
            "--patients",
            type=int,
            default=600,
            help=f"From {SCALE_THRESHOLD:,} on, builds the large benchmark data set "
            "(branches of ten doctors, ~5 visits per patient, plans for one in ten).",
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--now",
            type=datetime.fromisoformat,
            help="Build the demo as seen at this moment (ISO 8601 with its offset, not in "
            "the past), e.g. to rehearse an evening demo; default: the clock.",
        )

    def handle(self, *args, **options):
        # As the owner role: bulk loads end with ANALYZE, which only a table's owner may
        # run (for anyone else PostgreSQL skips it with a warning).
        with owner_connection():
            self._seed(options)

    def _seed(self, options) -> None:
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("Demo data skipped: the database already has staff accounts.")
            return
        if options["patients"] < 0:
            raise CommandError("--patients must be zero or more.")
        now = options.get("now") or timezone.now()
        if timezone.is_naive(now):
            raise CommandError("--now needs its UTC offset, e.g. 2026-03-02T23:30+03:00.")
        if now < timezone.now() - timedelta(minutes=1):
            raise CommandError(
                "--now can't be in the past: the visits ahead of it are booked through the "
                "services, which refuse the past."
            )
        if options["patients"] >= SCALE_THRESHOLD:
            self._demo(patients=0, seed=options["seed"])
            started = time.monotonic()
            progress = self._progress(started)
            after_visit = Visit.objects.aggregate(last=Max("id"))["last"] or 0
            counts = scale_data_create(
                patients=options["patients"], seed=options["seed"], progress=progress
            )
            counts |= scale_responses_create(after_visit=after_visit, progress=progress)
            counts["cards_with_care"] = care_rebuild()  # the bulk load skipped the triggers
            rebuilt = rollups_rebuild()
            progress(f"rollups {rebuilt.rows:,} rows in {rebuilt.seconds:.0f} s")
            snapshot = cohorts_snapshot()
            progress(f"cohort figures in {snapshot['seconds']:.0f} s")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Large data set loaded in {time.monotonic() - started:.0f} s: {counts}"
                )
            )
            return
        if _demo_clinic_exists():
            self.stdout.write("Demo data skipped: the demo clinic is already loaded.")
            return
        self._demo(patients=options["patients"], seed=options["seed"], now=now)
        rollups_rebuild()
        rollups_refresh()  # what the demo's own changes queued: the same figures again
        cohorts_snapshot()  # beat does it nightly; the demo's dashboards show them at once

    def _progress(self, started: float):
        def report(message: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:7.1f} s] {message}")
            self.stdout.flush()

        return report

    @transaction.atomic
    def _demo(self, *, patients: int, seed: int, now: datetime | None = None) -> None:
        rng = random.Random(seed)  # noqa: S311 - repeatable demo data
        branches = [
            Branch.objects.get_or_create(
                name=name, defaults={"address": address, "directions": directions}
            )[0]
            for name, address, directions in BRANCHES
        ]
        orthodontics = Specialty.objects.get_or_create(name="Ортодонтия")[0]
        for email, role, first, last, specialty, bio in STAFF:
            if User.objects.filter(email=email).exists():
                continue
            staff_create(
                email=email,
                role=role,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                # The demo's front desk is the clinic's call centre (every branch); the
                # second branch has a front desk of its own.
                branch=branches[1] if email in BRANCH_DESKS else branches[0],
                all_branches=email in CALL_CENTRE,
                specialty=orthodontics if specialty else None,
                short_bio=bio,
            )
        created = Patient.objects.bulk_create(
            [_patient(rng, branches, now or timezone.now()) for _ in range(patients)],
            batch_size=5000,
        )
        # Most demo patients agreed to reminders (and a third to marketing), so the demo's
        # messages go out instead of being suppressed for want of consent.
        ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    patient=patient,
                    kind=kind,
                    channel=ConsentChannel.ANY,
                    granted=True,
                    text_version="demo-2026",
                    note="demo data",
                )
                for n, patient in enumerate(created)
                for kind, agreed in (
                    (ConsentKind.PERSONAL_DATA, True),
                    (ConsentKind.REMINDERS, n % 10 != 9),
                    (ConsentKind.MARKETING, n % 3 == 0),
                )
                if agreed
            ],
            batch_size=5000,
        )
        counts = demo_journeys_create(
            patients=created[:JOURNEY_PATIENTS],
            visitors=created[JOURNEY_PATIENTS:],
            rng=rng,
            now=now,
        )
        counts["responses"] = demo_responses_create(rng=rng, now=now)
        curator = User.objects.filter(email="curator@demo.clinic").first()
        counts["recovery"] = demo_recovery_create(rng=rng, now=now, caller=curator)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(branches)} branches, {User.objects.count()} staff, "
                f"{len(created)} patients, plans by state: {counts}."
            )
        )


def _demo_clinic_exists() -> bool:
    """The demo's doctors have visits: a second run would only duplicate the clinic."""
    return Visit.objects.filter(doctor__email__in=[row[0] for row in DOCTORS]).exists()


def _patient(rng: random.Random, branches, now: datetime) -> Patient:
    """A patient with a believable name (women and men, with patronymics), birth date and
    mobile number, registered at one of ``branches``."""
    last, first, middle, birth, phone = fake_patient_row(rng, now, [], null="")[:5]
    return Patient(
        last_name=last,
        first_name=first,
        middle_name=middle,
        birth_date=date.fromisoformat(birth),
        phone=phone,
        home_branch=rng.choice(branches),
    )
