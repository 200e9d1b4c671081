"""Triggers that queue a doctor's day for a rollup refresh whenever a counted visit, a
response or a recovery task changes — whatever code path (service, admin, SQL) wrote it.
A bulk loader may skip them with ``SET metrics.bulk_load = 'on'`` and rebuild after."""

from django.db import migrations

COUNTED = "('completed', 'no_show', 'cancelled_by_patient', 'cancelled_by_clinic')"

SQL = f"""
CREATE FUNCTION metrics_visit_dirty() RETURNS trigger AS $$
BEGIN
    IF current_setting('metrics.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- The clinic day is the date at the visit's branch.
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {COUNTED} THEN
        INSERT INTO metrics_rollupdirty (doctor_id, day, queued_at)
        SELECT OLD.doctor_id, (OLD.starts_at AT TIME ZONE b.time_zone)::date, now()
        FROM journeys_branch b WHERE b.id = OLD.branch_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN {COUNTED} THEN
        INSERT INTO metrics_rollupdirty (doctor_id, day, queued_at)
        SELECT NEW.doctor_id, (NEW.starts_at AT TIME ZONE b.time_zone)::date, now()
        FROM journeys_branch b WHERE b.id = NEW.branch_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER metrics_visit_dirty_insert_delete
AFTER INSERT OR DELETE ON journeys_visit
FOR EACH ROW EXECUTE FUNCTION metrics_visit_dirty();

CREATE TRIGGER metrics_visit_dirty_update
AFTER UPDATE ON journeys_visit
FOR EACH ROW WHEN (
    OLD.status IS DISTINCT FROM NEW.status
    OR OLD.starts_at IS DISTINCT FROM NEW.starts_at
    OR OLD.doctor_id IS DISTINCT FROM NEW.doctor_id
    OR OLD.branch_id IS DISTINCT FROM NEW.branch_id
    OR OLD.service_id IS DISTINCT FROM NEW.service_id
    OR OLD.stage_id IS DISTINCT FROM NEW.stage_id
    OR OLD.price_charged IS DISTINCT FROM NEW.price_charged
)
EXECUTE FUNCTION metrics_visit_dirty();

CREATE FUNCTION metrics_response_dirty() RETURNS trigger AS $$
BEGIN
    IF current_setting('metrics.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO metrics_rollupdirty (doctor_id, day, queued_at)
        VALUES (OLD.doctor_id, OLD.day, now());
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO metrics_rollupdirty (doctor_id, day, queued_at)
        VALUES (NEW.doctor_id, NEW.day, now());
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER metrics_response_dirty
AFTER INSERT OR UPDATE OR DELETE ON feedback_response
FOR EACH ROW EXECUTE FUNCTION metrics_response_dirty();

CREATE FUNCTION metrics_recovery_dirty() RETURNS trigger AS $$
BEGIN
    INSERT INTO metrics_rollupdirty (doctor_id, day, queued_at)
    SELECT doctor_id, day, now() FROM feedback_response WHERE recovery_task_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER metrics_recovery_dirty
AFTER UPDATE ON journeys_task
FOR EACH ROW WHEN (
    NEW.kind = 'negative_feedback'
    AND (OLD.state IS DISTINCT FROM NEW.state OR OLD.closed_at IS DISTINCT FROM NEW.closed_at)
)
EXECUTE FUNCTION metrics_recovery_dirty();
"""

REVERSE = """
DROP TRIGGER IF EXISTS metrics_recovery_dirty ON journeys_task;
DROP FUNCTION IF EXISTS metrics_recovery_dirty();
DROP TRIGGER IF EXISTS metrics_response_dirty ON feedback_response;
DROP FUNCTION IF EXISTS metrics_response_dirty();
DROP TRIGGER IF EXISTS metrics_visit_dirty_update ON journeys_visit;
DROP TRIGGER IF EXISTS metrics_visit_dirty_insert_delete ON journeys_visit;
DROP FUNCTION IF EXISTS metrics_visit_dirty();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0001_rollups"),
        ("feedback", "0002_default_surveys"),
        ("journeys", "0008_stage_materials"),
    ]

    operations = [migrations.RunSQL(SQL, REVERSE)]
