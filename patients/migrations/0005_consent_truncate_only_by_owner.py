"""TRUNCATE of consent records only by the owner of the table (the test suite's flush
runs as the owner), never by a session setting: the ``clinic_crm.audit_maintenance``
bypass is gone. The rest of ``patients_refuse_change_except_merge()`` is as 0004 made it.
The application role has no TRUNCATE or DELETE privilege on the table and may UPDATE only
``patient_id`` (migrate grants that); the trigger also holds for the owner.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION patients_refuse_change_except_merge() RETURNS trigger AS $$
DECLARE
    patient_column text := COALESCE(TG_ARGV[0], 'patient_id');
    old_patient bigint;
    new_patient bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF %(truncate_allowed)s THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'UPDATE'
          AND (to_jsonb(NEW) - patient_column) = (to_jsonb(OLD) - patient_column) THEN
        old_patient := (to_jsonb(OLD) ->> patient_column)::bigint;
        new_patient := (to_jsonb(NEW) ->> patient_column)::bigint;
        IF old_patient IS DISTINCT FROM new_patient AND EXISTS (
            SELECT 1 FROM patients_patient
            WHERE id = old_patient AND merged_into_id = new_patient
        ) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '%% is append-only: a record moves only from a merged patient to the patient it was merged into', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION '%% is append-only: %% refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

FORWARD = FUNCTION % {
    "truncate_allowed": (
        "current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID)"
    )
}
BACKWARD = FUNCTION % {
    "truncate_allowed": "current_setting('clinic_crm.audit_maintenance', true) = 'on'"
}


class Migration(migrations.Migration):
    dependencies = [("patients", "0004_consent_append_only")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
