"""Migrating an existing database forward moves what each message is about (its visit,
plan and stage) from messaging's columns to journeys' JourneyMessage, row for row, and
migrating back puts it back."""

from datetime import UTC, datetime

import pytest
from django.db.migrations.executor import MigrationExecutor

from journeys.models import JourneyMessage
from tests.journeys.factories import accepted_plan, clinic_visit, tomorrow_at

BEFORE = [
    ("journeys", "0019_link_answer_in_journeys"),
    ("messaging", "0005_link_answer_in_journeys"),
]
AFTER = [("journeys", "0020_journey_message"), ("messaging", "0006_message_journey_rows_moved")]


def _migrate(connection, targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _migrate_to_latest(connection):
    """Forward to every app's newest migration, as the rest of the suite expects: later
    migrations (of any app) must be back too, not only the two under test."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _insert_message(cursor, patient_id, key, visit_id=None, plan_id=None, stage_id=None):
    at = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    cursor.execute(
        """
        INSERT INTO messaging_message (patient_id, kind, channel, language, subject, body,
            scheduled_for, due_at, status, suppressed_reason, attempts, last_error,
            idempotency_key, provider_id, delivery, context, created_at,
            visit_id, plan_id, stage_id)
        VALUES (%s, 'reminder', 'sms', 'ru', '', 'text', %s, %s, 'pending', '', 0, '', %s,
            '', '', '{}', %s, %s, %s, %s)
        RETURNING id
        """,
        [patient_id, at, at, key, at, visit_id, plan_id, stage_id],
    )
    return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_rows_a_message_is_about_move_to_journeys_and_back(owner_db, clinic):
    plan, stages = accepted_plan(clinic)
    visit = clinic_visit(clinic, tomorrow_at(10), stage=stages[0])
    _migrate(owner_db, BEFORE)
    try:
        with owner_db.cursor() as cursor:
            about_visit = _insert_message(
                cursor,
                clinic.patient.pk,
                "m:visit",
                visit_id=visit.pk,
                plan_id=plan.pk,
            )
            about_stage = _insert_message(
                cursor, clinic.patient.pk, "m:stage", plan_id=plan.pk, stage_id=stages[0].pk
            )
            about_nothing = _insert_message(cursor, clinic.patient.pk, "m:birthday")
    finally:
        _migrate_to_latest(owner_db)
    rows = {row.message_id: row for row in JourneyMessage.objects.all()}
    assert set(rows) == {about_visit, about_stage}
    assert rows[about_visit].plan_id == plan.pk
    assert rows[about_visit].visit_id == visit.pk
    assert (rows[about_stage].plan_id, rows[about_stage].stage_id) == (plan.pk, stages[0].pk)
    assert about_nothing not in rows

    _migrate(owner_db, BEFORE)
    try:
        with owner_db.cursor() as cursor:
            cursor.execute(
                "SELECT id, plan_id, stage_id FROM messaging_message"
                " WHERE id = ANY(%s) ORDER BY id",
                [[about_visit, about_stage, about_nothing]],
            )
            back = cursor.fetchall()
    finally:
        _migrate_to_latest(owner_db)
    assert back == sorted(
        [
            (about_visit, plan.pk, None),
            (about_stage, plan.pk, stages[0].pk),
            (about_nothing, None, None),
        ]
    )
