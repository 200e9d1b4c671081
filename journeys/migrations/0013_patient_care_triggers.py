"""What makes a patient "cared for" at a branch or by a staff member, kept on the card.

patients.access lets staff see the patients of their branch and those in their care;
the card carries the branches (``care_branch_ids``) and the staff (``care_staff_ids``) of
its care so that the rule is a filter on the card, not a subquery per card. These
triggers add to them whenever a row that makes care is written or re-pointed:

- a visit: its branch, its doctor;
- a treatment plan: its branch, its lead doctor and its curator;
- a handoff: the branch it is to be booked at, the doctor it is to, the doctor it came
  from, its curator;
- a task: its assignee;
- a waitlist place: its branch.

Care once given stays (a curator replaced on a plan keeps reading the patient they
worked with); ``journeys_care_rebuild()`` recomputes both arrays from the rows as they
are now, after a bulk load (``journeys.bulk_load``/``metrics.bulk_load`` skip the
triggers, as the demo loader does).
"""

from django.db import migrations

TRACKED = {
    # table: (branch columns, staff columns)
    "journeys_visit": ("branch_id", "doctor_id"),
    "journeys_treatmentplan": ("branch_id", "lead_doctor_id,curator_id"),
    "journeys_handoff": ("branch_id", "to_doctor_id,from_doctor_id,curator_id"),
    "journeys_task": ("", "assignee_id"),
    "journeys_waitlistentry": ("branch_id", ""),
}

FUNCTIONS = """
CREATE FUNCTION journeys_care_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_row jsonb := to_jsonb(NEW);
    v_branches bigint[] := '{}';
    v_staff bigint[] := '{}';
    v_column text;
BEGIN
    IF current_setting('journeys.bulk_load', true) = 'on'
       OR current_setting('metrics.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    FOREACH v_column IN ARRAY string_to_array(TG_ARGV[0], ',') LOOP
        v_branches := v_branches || (v_row ->> v_column)::bigint;
    END LOOP;
    FOREACH v_column IN ARRAY string_to_array(TG_ARGV[1], ',') LOOP
        v_staff := v_staff || (v_row ->> v_column)::bigint;
    END LOOP;
    PERFORM patients_care_add((v_row ->> 'patient_id')::bigint, v_branches, v_staff);
    RETURN NULL;
END $$;

CREATE FUNCTION journeys_care_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_count bigint;
BEGIN
    WITH care AS (
        SELECT patient_id, branch_id AS b, doctor_id AS s FROM journeys_visit
        UNION ALL SELECT patient_id, branch_id, lead_doctor_id FROM journeys_treatmentplan
        UNION ALL SELECT patient_id, NULL, curator_id FROM journeys_treatmentplan
        UNION ALL SELECT patient_id, branch_id, to_doctor_id FROM journeys_handoff
        UNION ALL SELECT patient_id, NULL, from_doctor_id FROM journeys_handoff
        UNION ALL SELECT patient_id, NULL, curator_id FROM journeys_handoff
        UNION ALL SELECT patient_id, NULL, assignee_id FROM journeys_task
        UNION ALL SELECT patient_id, branch_id, NULL FROM journeys_waitlistentry
    ), per_patient AS (
        SELECT patient_id,
               COALESCE(array_agg(DISTINCT b ORDER BY b) FILTER (WHERE b IS NOT NULL), '{}') AS b,
               COALESCE(array_agg(DISTINCT s ORDER BY s) FILTER (WHERE s IS NOT NULL), '{}') AS s
        FROM care GROUP BY patient_id
    )
    UPDATE patients_patient p
    SET care_branch_ids = COALESCE(c.b, '{}'), care_staff_ids = COALESCE(c.s, '{}')
    FROM patients_patient p2 LEFT JOIN per_patient c ON c.patient_id = p2.id
    WHERE p.id = p2.id
      AND (p.care_branch_ids IS DISTINCT FROM COALESCE(c.b, '{}')
           OR p.care_staff_ids IS DISTINCT FROM COALESCE(c.s, '{}'));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
"""


def _triggers() -> str:
    statements = []
    for table, (branches, staff) in TRACKED.items():
        columns = ", ".join(["patient_id", *filter(None, (branches + "," + staff).split(","))])
        statements.append(
            f"CREATE TRIGGER {table}_care AFTER INSERT OR UPDATE OF {columns} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION journeys_care_track('{branches}', '{staff}');"
        )
    return "\n".join(statements)


FORWARD = FUNCTIONS + _triggers() + "\nSELECT journeys_care_rebuild();\n"

BACKWARD = (
    "\n".join(f"DROP TRIGGER IF EXISTS {table}_care ON {table};" for table in TRACKED)
    + """
DROP FUNCTION IF EXISTS journeys_care_rebuild();
DROP FUNCTION IF EXISTS journeys_care_track();
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0012_journey_events_merge_rule"),
        ("patients", "0006_patient_care_arrays"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
