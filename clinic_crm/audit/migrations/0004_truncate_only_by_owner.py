"""TRUNCATE of the audit log only by the owner of the table (the test suite's flush runs
as the owner), never by a session setting: the ``clinic_crm.audit_maintenance`` bypass
is gone. UPDATE and DELETE stay refused for everyone. The application role has no
TRUNCATE, UPDATE or DELETE privilege on the table in the first place (migrate grants it
only INSERT and SELECT); this trigger also holds for the owner and a one-role set-up.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_user = (
        SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID
    ) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused on audit_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

# The function as 0003 created it.
BACKWARD = """
CREATE OR REPLACE FUNCTION audit_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('clinic_crm.audit_maintenance', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused on audit_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_trigger")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
