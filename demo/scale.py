"""Large data sets for benchmarks: `seed_demo --patients 1000000` builds a network of
branches with ten doctors each, a million patients (COPY), about five visits per patient
over three years plus the coming month, treatment plans with stages for one patient in
ten, handoffs, journey events and the worklist tasks the rules open.

Visits, plans, stages and events are generated inside PostgreSQL (INSERT … SELECT over
generate_series), so the exclusion constraint and every index are maintained as in
production while Python only sends a handful of statements.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import time, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from clinic_crm.catalogue.models import Branch, Service, Specialty
from clinic_crm.staff.models import StaffProfile, User
from clinic_crm.staff.roles import Role
from demo.patients import patients_bulk_generate
from journeys.models import WorkingHours
from journeys.services.worklist import worklist_rules_run
from patients.models import Patient

DOCTORS_PER_BRANCH = 10
VISITS_PER_PATIENT = 5
DAYS_BACK = 3 * 365
DAYS_AHEAD = 30
SLOTS_PER_DAY = 20  # 09:00–19:00 in 30-minute visits
FILL = 0.9

Progress = Callable[[str], None]


def _branches_needed(patients: int) -> int:
    slots_per_doctor = (DAYS_BACK + DAYS_AHEAD) * 6 / 7 * SLOTS_PER_DAY * FILL
    doctors = math.ceil(patients * VISITS_PER_PATIENT / slots_per_doctor)
    return max(1, math.ceil(doctors / DOCTORS_PER_BRANCH))


def _staff(*, branches: list[Branch], specialty: Specialty, password_hash: str) -> None:
    groups = {role: Group.objects.get(name=role) for role in Role.values}
    users, profiles, memberships, hours = [], [], [], []
    existing = set(User.objects.values_list("email", flat=True))
    for branch in branches:
        people = [
            (f"doctor{n}.b{branch.pk}@scale.clinic", Role.DOCTOR) for n in range(DOCTORS_PER_BRANCH)
        ]
        people += [
            (f"curator.b{branch.pk}@scale.clinic", Role.CURATOR),
            (f"admin.b{branch.pk}@scale.clinic", Role.ADMINISTRATOR),
        ]
        for email, role in people:
            if email in existing:
                continue
            users.append(
                (
                    User(
                        email=email,
                        password=password_hash,
                        first_name=role.title(),
                        last_name=email.split("@")[0],
                    ),
                    role,
                    branch,
                )
            )
    User.objects.bulk_create([u for u, _, _ in users], batch_size=1000)
    for user, role, branch in users:
        profiles.append(
            StaffProfile(
                user=user, branch=branch, specialty=specialty if role == Role.DOCTOR else None
            )
        )
        memberships.append(User.groups.through(user_id=user.pk, group_id=groups[role].pk))
        if role == Role.DOCTOR:
            hours += [
                WorkingHours(doctor=user, branch=branch, weekday=day, starts=time(9), ends=time(19))
                for day in range(6)
            ]
    StaffProfile.objects.bulk_create(profiles, batch_size=1000)
    User.groups.through.objects.bulk_create(memberships, batch_size=1000)
    WorkingHours.objects.bulk_create(hours, batch_size=5000)


VISITS_SQL = """
WITH doctors AS (
    SELECT wh.doctor_id, wh.branch_id, MIN(wh.id) AS n
    FROM journeys_workinghours wh
    JOIN staff_user u ON u.id = wh.doctor_id AND u.email LIKE '%%@scale.clinic'
    GROUP BY wh.doctor_id, wh.branch_id
), slots AS (
    SELECT d.doctor_id, d.branch_id,
           -- local wall-clock time first (date + time), then into an instant
           ((day::date + time '09:00' + make_interval(mins => 30 * slot))
               AT TIME ZONE 'Europe/Moscow') AS starts_at,
           hashtext(d.doctor_id::text || ':' || day::text || ':' || slot::text) AS h
    FROM doctors d
    CROSS JOIN generate_series(%(first_day)s::date, %(last_day)s::date, interval '1 day') AS day
    CROSS JOIN generate_series(0, %(slots)s - 1) AS slot
    WHERE extract(isodow FROM day) < 7
)
INSERT INTO journeys_visit (patient_id, doctor_id, branch_id, service_id, starts_at, ends_at,
                            status, price_charged, cancel_reason, created_at, updated_at,
                            completed_at)
SELECT np.id,
       doctor_id, branch_id, %(service)s, starts_at, starts_at + interval '30 minutes',
       CASE WHEN starts_at > now() + interval '30 minutes'
                 THEN CASE WHEN starts_at < now() + interval '2 days' AND abs(h) %% 2 = 0
                           THEN 'confirmed' ELSE 'scheduled' END
            -- today's calendar around now: the next patient waits, the current one is in
            WHEN starts_at > now() THEN 'arrived'
            WHEN starts_at + interval '30 minutes' > now() THEN 'in_progress'
            WHEN abs(h) %% 100 < 7 THEN 'no_show'
            WHEN abs(h) %% 100 < 13 THEN 'cancelled_by_patient'
            ELSE 'completed' END,
       CASE WHEN starts_at + interval '30 minutes' <= now() AND abs(h) %% 100 >= 13
            THEN %(price)s END,
       '', starts_at - interval '7 days', starts_at,
       CASE WHEN starts_at + interval '30 minutes' <= now() AND abs(h) %% 100 >= 13
            THEN starts_at + interval '30 minutes' END
FROM slots
JOIN scale_new_patients np ON np.n = abs(h) %% %(patients)s
WHERE abs(h / 7) %% 100 < %(fill)s
"""

PLANS_SQL = """
INSERT INTO journeys_treatmentplan (patient_id, title, branch_id, lead_doctor_id, curator_id,
    status, observation_months, recall_due_on, abandon_reason, proposed_at, accepted_at,
    completed_at, created_at, updated_at)
SELECT p.id, 'Orthodontic treatment', p.home_branch_id, doc.doctor_id, cur.user_id,
       s.status, 6,
       CASE WHEN s.status = 'completed' THEN current_date - (p.id %% 60)::int END,
       CASE WHEN s.status = 'abandoned' THEN 'Moved away' ELSE '' END,
       now() - make_interval(days => 200), now() - make_interval(days => 190),
       CASE WHEN s.status = 'completed' THEN now() - make_interval(days => 30) END,
       now() - make_interval(days => 210), now()
FROM patients_patient p
JOIN LATERAL (SELECT CASE p.id %% 20
        WHEN 0 THEN 'draft' WHEN 1 THEN 'proposed' WHEN 2 THEN 'completed'
        WHEN 3 THEN 'abandoned' WHEN 4 THEN 'accepted' ELSE 'in_progress' END AS status) s ON true
JOIN LATERAL (SELECT sp.user_id AS doctor_id FROM staff_staffprofile sp
              WHERE sp.branch_id = p.home_branch_id AND sp.specialty_id IS NOT NULL
              ORDER BY sp.user_id OFFSET (p.id %% %(doctors)s) LIMIT 1) doc ON true
JOIN LATERAL (SELECT sp.user_id FROM staff_staffprofile sp
              JOIN staff_user_groups ug ON ug.user_id = sp.user_id
              JOIN auth_group g ON g.id = ug.group_id AND g.name = 'curator'
              WHERE sp.branch_id = p.home_branch_id LIMIT 1) cur ON true
JOIN scale_new_patients np ON np.id = p.id
WHERE np.n %% %(every)s = 0
"""

OPTIONS_SQL = """
INSERT INTO journeys_planoption (plan_id, position, title, cost_estimate, duration_weeks,
                                 expected_result)
SELECT id, 1, 'Metal braces', 120000, 30, 'Straight teeth and a correct bite'
FROM journeys_treatmentplan WHERE id > %(after_plan)s;
UPDATE journeys_treatmentplan t SET chosen_option_id = o.id
FROM journeys_planoption o
WHERE o.plan_id = t.id AND t.id > %(after_plan)s AND t.status NOT IN ('draft', 'proposed');
"""

STAGES_SQL = """
INSERT INTO journeys_stage (option_id, position, title, purpose, specialty_id, service_id,
    significant, offset_days, window_days, window_start, window_end, status, done_at)
SELECT o.id, n, 'Stage ' || n, 'Adjust the braces so the teeth keep moving', %(specialty)s,
       %(service)s, n IN (1, 6), 30 * (n - 1), 14,
       CASE WHEN t.chosen_option_id IS NOT NULL
            THEN (t.accepted_at::date + 30 * (n - 1) - (t.id %% 40)::int) END,
       CASE WHEN t.chosen_option_id IS NOT NULL
            THEN (t.accepted_at::date + 30 * (n - 1) - (t.id %% 40)::int + 14) END,
       CASE WHEN t.status = 'completed' THEN 'done'
            WHEN t.status = 'in_progress' AND n <= 1 + (t.id %% 5) THEN 'done'
            ELSE 'planned' END,
       CASE WHEN t.status = 'completed'
              OR (t.status = 'in_progress' AND n <= 1 + (t.id %% 5)) THEN now() END
FROM journeys_planoption o
JOIN journeys_treatmentplan t ON t.id = o.plan_id
CROSS JOIN generate_series(1, 6) AS n
WHERE t.id > %(after_plan)s
"""

EVENTS_SQL = """
INSERT INTO journeys_journeyevent (patient_id, plan_id, kind, actor_id, at, summary, data)
SELECT t.patient_id, t.id, k.kind, t.lead_doctor_id, t.created_at + k.shift, t.title, '{}'
FROM journeys_treatmentplan t
CROSS JOIN (VALUES ('plan_created', interval '0'), ('plan_proposed', interval '1 day'),
                   ('option_chosen', interval '10 days')) AS k(kind, shift)
WHERE t.id > %(after_plan)s
  AND (k.kind = 'plan_created' OR t.status <> 'draft')
  AND (k.kind <> 'option_chosen' OR t.chosen_option_id IS NOT NULL)
"""

HANDOFFS_SQL = """
INSERT INTO journeys_handoff (patient_id, plan_id, branch_id, from_doctor_id, to_specialty_id,
    curator_id, reason, due_date, state, created_at)
SELECT t.patient_id, t.id, t.branch_id, t.lead_doctor_id, %(specialty)s, t.curator_id,
       'Wisdom teeth before the lower braces', current_date - (t.id %% 10)::int,
       CASE WHEN t.id %% 3 = 0 THEN 'lost' ELSE 'open' END, now() - interval '10 days'
FROM journeys_treatmentplan t
WHERE t.id > %(after_plan)s AND t.status = 'in_progress' AND t.id %% 7 = 0
"""


def scale_data_create(*, patients: int, seed: int, progress: Progress) -> dict[str, int]:
    """Builds the large data set. Each step commits on its own so a long run shows
    progress and a failure leaves the finished steps in place."""
    specialty, _ = Specialty.objects.get_or_create(name="Ортодонтия")
    surgery, _ = Specialty.objects.get_or_create(name="Хирургия")
    service, _ = Service.objects.get_or_create(
        specialty=specialty,
        name="Коррекция брекет-системы",
        defaults={
            "duration_minutes": 30,
            "price": 3500,
            "preparation": "Почистите зубы перед визитом.",
        },
    )
    branch_count = _branches_needed(patients)
    branches = [
        Branch.objects.get_or_create(
            name=f"Филиал №{n}",
            defaults={"address": f"Москва, ул. Примерная, {n}", "directions": "Парковка у входа."},
        )[0]
        for n in range(1, branch_count + 1)
    ]
    progress(f"{branch_count} branches, {branch_count * DOCTORS_PER_BRANCH} doctors")
    with transaction.atomic():
        _staff(
            branches=branches, specialty=specialty, password_hash=make_password("Clinic-demo-2026")
        )

    last_existing = Patient.objects.order_by("-id").values_list("id", flat=True).first() or 0
    step = max(patients // 20, 1)

    def patient_progress(done: int, total: int) -> None:
        if done % step < 10_000 or done == total:
            progress(f"patients {done:,}/{total:,}")

    with transaction.atomic():
        patients_bulk_generate(
            count=patients,
            seed=seed,
            progress=patient_progress,
            branch_ids=[b.pk for b in branches],
            batch_size=10_000,
        )
    today = timezone.localdate()
    counts: dict[str, int] = {"patients": patients}
    with connection.cursor() as cursor:
        # Ids are not contiguous (sequences skip), so number the new patients 0…n-1.
        cursor.execute(
            "CREATE TEMP TABLE scale_new_patients AS "
            "SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS n "
            "FROM patients_patient WHERE id > %s",
            [last_existing],
        )
        cursor.execute("CREATE INDEX ON scale_new_patients (n)")
        cursor.execute("ANALYZE scale_new_patients")
        progress("visits …")
        # The metrics triggers would queue a rollup refresh per visit: the loader
        # rebuilds the rollups once at the end instead.
        cursor.execute("SET metrics.bulk_load = 'on'")
        cursor.execute(
            VISITS_SQL,
            {
                "first_day": today - timedelta(days=DAYS_BACK),
                "last_day": today + timedelta(days=DAYS_AHEAD),
                "slots": SLOTS_PER_DAY,
                "patients": patients,
                "service": service.pk,
                "price": service.price,
                "fill": int(FILL * 100),
            },
        )
        counts["visits"] = cursor.rowcount
        cursor.execute("RESET metrics.bulk_load")
        progress(f"visits {cursor.rowcount:,}")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM journeys_treatmentplan")
        after_plan = cursor.fetchone()[0]
        cursor.execute(PLANS_SQL, {"every": 10, "doctors": DOCTORS_PER_BRANCH})
        counts["plans"] = cursor.rowcount
        progress(f"plans {cursor.rowcount:,}")
        cursor.execute(OPTIONS_SQL, {"after_plan": after_plan})
        # The per-row trigger that keeps each plan's next stage would update a plan for
        # every stage inserted (migration 0007 lets a bulk load skip it); set them all in
        # one statement afterwards instead.
        cursor.execute("SET journeys.bulk_load = 'on'")
        try:
            cursor.execute(
                STAGES_SQL,
                {"after_plan": after_plan, "specialty": specialty.pk, "service": service.pk},
            )
            counts["stages"] = cursor.rowcount
        finally:
            cursor.execute("RESET journeys.bulk_load")
        cursor.execute(
            "UPDATE journeys_treatmentplan SET next_stage_id = NULL "
            "WHERE id > %s AND chosen_option_id IS NOT NULL",
            [after_plan],
        )
        cursor.execute(EVENTS_SQL, {"after_plan": after_plan})
        counts["events"] = cursor.rowcount
        cursor.execute(HANDOFFS_SQL, {"after_plan": after_plan, "specialty": surgery.pk})
        counts["handoffs"] = cursor.rowcount
        progress(
            f"stages {counts['stages']:,}, events {counts['events']:,}, "
            f"handoffs {counts['handoffs']:,}"
        )
        cursor.execute("DROP TABLE scale_new_patients")
        cursor.execute("ANALYZE")
    results = worklist_rules_run()
    counts["tasks"] = sum(r.opened for r in results.values())
    progress(f"worklist tasks {counts['tasks']:,}")
    return counts
