"""Demo data: branches, specialties, one staff member per role and a few patients.

`make run` calls it with --if-empty, so a database that has staff is never touched.
"""

import random
from datetime import date, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction

from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from journeys.models import Branch, Specialty
from patients.models import Patient

DEMO_PASSWORD = "Clinic-demo-2026"  # noqa: S105 - demo accounts only, printed by make run

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


class Command(BaseCommand):
    help = "Loads demo data (branches, staff with one account per role, patients)."

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
        central, _ = Branch.objects.get_or_create(
            name="Центральный филиал",
            defaults={
                "address": "Москва, ул. Тверская, 10",
                "directions": "Парковка во дворе, въезд с Малого Гнездниковского переулка.",
            },
        )
        Branch.objects.get_or_create(
            name="Филиал на Соколе",
            defaults={
                "address": "Москва, Ленинградский пр-т, 75",
                "directions": "5 минут от метро «Сокол», выход №2.",
            },
        )
        specialties = {
            name: Specialty.objects.get_or_create(name=name)[0]
            for name in ["Ортодонтия", "Терапия", "Хирургия", "Ортопедия", "Гигиена"]
        }
        for email, role, first, last, specialty, bio in STAFF:
            if User.objects.filter(email=email).exists():
                continue
            staff_create(
                email=email,
                role=role,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                branch=central,
                specialty=specialties.get(specialty) if specialty else None,
                short_bio=bio,
            )
        branches = list(Branch.objects.all())
        patients = []
        for _i in range(options["patients"]):
            patients.append(
                Patient(
                    last_name=rng.choice(LAST_NAMES),
                    first_name=rng.choice(FIRST_NAMES),
                    birth_date=date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60)),
                    phone="+79" + "".join(str(rng.randrange(10)) for _ in range(9)),
                    home_branch=rng.choice(branches),
                )
            )
        Patient.objects.bulk_create(patients, batch_size=5000)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(branches)} branches, {len(STAFF)} staff, "
                f"{len(patients)} patients."
            )
        )
