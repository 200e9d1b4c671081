"""Journey events follow the consents' rule (patients' 0004 and 0005): a row may change
only its ``patient_id``, and only from a merged card to the card it was merged into;
DELETE is refused; TRUNCATE only by the owner of the table (the test suite's flush runs
as the owner), never by a session setting. Until now any change of ``patient_id`` alone
was let through, and TRUNCATE in a session that set ``clinic_crm.audit_maintenance``.
The application role has no TRUNCATE or DELETE privilege here and may UPDATE only
``patient_id`` (migrate grants that); the trigger also holds for the owner.
"""

from django.db import migrations

FORWARD = """
DROP TRIGGER journeys_event_no_update_delete ON journeys_journeyevent;
DROP TRIGGER journeys_event_no_truncate ON journeys_journeyevent;
DROP FUNCTION journeys_event_refuse_change();

CREATE TRIGGER journeys_event_no_update_delete
    BEFORE UPDATE OR DELETE ON journeys_journeyevent
    FOR EACH ROW EXECUTE FUNCTION patients_refuse_change_except_merge('patient_id');

CREATE TRIGGER journeys_event_no_truncate
    BEFORE TRUNCATE ON journeys_journeyevent
    FOR EACH STATEMENT EXECUTE FUNCTION patients_refuse_change_except_merge();
"""

# The function and triggers as 0003 created them.
BACKWARD = """
DROP TRIGGER journeys_event_no_update_delete ON journeys_journeyevent;
DROP TRIGGER journeys_event_no_truncate ON journeys_journeyevent;

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


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0011_task_branch"),
        ("patients", "0005_consent_truncate_only_by_owner"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
