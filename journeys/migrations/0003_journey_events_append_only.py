"""Journey events are append-only. The one change allowed is re-pointing an event to
another patient record (merging duplicates); any other UPDATE, and DELETE, is refused.
TRUNCATE only in a session that set ``clinic_crm.audit_maintenance`` (the test flush)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION journeys_event_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (to_jsonb(NEW) - 'patient_id') = (to_jsonb(OLD) - 'patient_id') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE'
       AND current_setting('clinic_crm.audit_maintenance', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'journey events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journeys_event_no_update_delete
    BEFORE UPDATE OR DELETE ON journeys_journeyevent
    FOR EACH ROW EXECUTE FUNCTION journeys_event_refuse_change();

CREATE TRIGGER journeys_event_no_truncate
    BEFORE TRUNCATE ON journeys_journeyevent
    FOR EACH STATEMENT EXECUTE FUNCTION journeys_event_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS journeys_event_no_truncate ON journeys_journeyevent;
DROP TRIGGER IF EXISTS journeys_event_no_update_delete ON journeys_journeyevent;
DROP FUNCTION IF EXISTS journeys_event_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("journeys", "0002_scheduling_plans_tasks")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
