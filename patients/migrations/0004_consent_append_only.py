"""Consent records are append-only: PostgreSQL refuses UPDATE and DELETE.

The one UPDATE let through re-points a record from a merged patient card to the card it
was merged into (only ``patient_id`` changes, and the old card's ``merged_into`` names
the new one), so merging duplicates keeps the consent history. TRUNCATE only in a
session that set ``clinic_crm.audit_maintenance`` to ``on`` (the test suite's flush).

``patients_refuse_change_except_merge()`` takes the patient column as its optional
argument, so other append-only tables with a patient reference can use it too.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION patients_refuse_change_except_merge() RETURNS trigger AS $$
DECLARE
    patient_column text := COALESCE(TG_ARGV[0], 'patient_id');
    old_patient bigint;
    new_patient bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        IF current_setting('clinic_crm.audit_maintenance', true) = 'on' THEN
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
        RAISE EXCEPTION '% is append-only: a record moves only from a merged patient to the patient it was merged into', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER patients_consent_no_update_delete
    BEFORE UPDATE OR DELETE ON patients_consentrecord
    FOR EACH ROW EXECUTE FUNCTION patients_refuse_change_except_merge('patient_id');

CREATE TRIGGER patients_consent_no_truncate
    BEFORE TRUNCATE ON patients_consentrecord
    FOR EACH STATEMENT EXECUTE FUNCTION patients_refuse_change_except_merge();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS patients_consent_no_truncate ON patients_consentrecord;
DROP TRIGGER IF EXISTS patients_consent_no_update_delete ON patients_consentrecord;
DROP FUNCTION IF EXISTS patients_refuse_change_except_merge();
"""


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_patient_card_consents")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
