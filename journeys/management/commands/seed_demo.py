"""Demo data: branches, staff with one account per role, patients, and journeys in every
state. `make run` calls it with --if-empty, so a database that has staff is never touched.
"""

import random
from datetime import date, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction

from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from journeys.demo import DEMO_PASSWORD, demo_journeys_create
from journeys.models import Branch, Specialty
from patients.models import Patient

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
    ("curator@demo.clinic", Role.CURATOR, "Мария", "Кузнецова", None, ""),
    ("manager@demo.clinic", Role.MANAGER, "Олег", "Соколов", None, ""),
]
LAST_NAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
]
FIRST_NAMES = [
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Артём",
    "Илья",
    "Кирилл",
    "Михаил",
    "Никита",
    "Матвей",
    "Роман",
    "Егор",
]
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
        parser.add_argument("--patients", type=int, default=200)
        parser.add_argument("--seed", type=int, default=2026)

    @transaction.atomic
    def handle(self, *args, **options):
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("Demo data skipped: the database already has staff accounts.")
            return
        rng = random.Random(options["seed"])  # noqa: S311 - repeatable demo data
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
                branch=branches[0],
                specialty=orthodontics if specialty else None,
                short_bio=bio,
            )
        created = Patient.objects.bulk_create(
            [
                Patient(
                    last_name=rng.choice(LAST_NAMES),
                    first_name=rng.choice(FIRST_NAMES),
                    birth_date=date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60)),
                    phone="+79" + "".join(str(rng.randrange(10)) for _ in range(9)),
                    home_branch=rng.choice(branches),
                )
                for _ in range(options["patients"])
            ],
            batch_size=5000,
        )
        counts = demo_journeys_create(patients=created[:60], rng=rng)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(branches)} branches, {User.objects.count()} staff, "
                f"{len(created)} patients, plans by state: {counts}."
            )
        )
