"""The application connects as a role that can't rewrite the append-only tables (audit
log, consents, journey events); the owner role migrates and flushes.

The suite's own connection is the application role (tests/conftest.py), so these tests
run their statements on it; every refusal is checked to be PostgreSQL's own (missing
privilege or ownership), which a granted privilege would turn into success or into one of
our triggers' refusals.
"""

import psycopg2
import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from psycopg2 import errors, sql

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.audit.services import audit_record
from clinic_crm.db import APPEND_ONLY_TABLES, owner_connection
from journeys.models import JourneyEvent
from patients.models import ConsentRecord
from tests.helpers import run_django
from tests.patients.factories import ConsentRecordFactory, PatientFactory

pytestmark = pytest.mark.django_db

TABLES = list(APPEND_ONLY_TABLES)


def one_row_each() -> dict[str, int]:
    """A row in each append-only table, written as the application writes them."""
    patient = PatientFactory()
    event = JourneyEvent.objects.create(patient=patient, kind="note", summary="Called")
    return {
        "audit_auditevent": audit_record(action=AuditAction.EXPORT).pk,
        "patients_consentrecord": ConsentRecordFactory(patient=patient).pk,
        "journeys_journeyevent": event.pk,
    }


def refused(statement: str, message: str) -> None:
    """``statement`` fails on the test's connection with PostgreSQL's own refusal."""
    with pytest.raises(DatabaseError) as refusal:  # noqa: PT012 - the savepoint too
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert isinstance(refusal.value.__cause__, errors.InsufficientPrivilege), refusal.value
    assert str(refusal.value).strip() == message


def changed_column(table: str) -> str:
    return {"audit_auditevent": "path", "patients_consentrecord": "note"}.get(table, "summary")


def test_the_suite_connects_as_the_application_role_which_owns_nothing(app_role):
    owner = settings.DATABASE_MIGRATE["USER"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolcreatedb, rolcreaterole, rolinherit, "
            "pg_has_role(current_user, %s, 'MEMBER') FROM pg_roles WHERE rolname = current_user",
            [owner],
        )
        assert cursor.fetchone() == (app_role, False, False, False, False, False)
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid), "
            "(SELECT count(*) FROM pg_proc WHERE proowner = r.oid) "
            "FROM pg_roles r WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (0, 0)
        cursor.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S')"
        )
        assert cursor.fetchall() == [(owner,)]


@pytest.mark.parametrize("table", TABLES)
def test_application_may_insert_and_read_but_not_update_or_delete(app_role, table):
    pk = one_row_each()[table]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE id = %s", [pk])  # noqa: S608
        assert cursor.fetchone() == (1,)
    column = changed_column(table)
    refused(
        f"UPDATE {table} SET {column} = 'rewritten' WHERE id = {pk}",  # noqa: S608
        f"permission denied for table {table}",
    )
    refused(f"DELETE FROM {table} WHERE id = {pk}", f"permission denied for table {table}")  # noqa: S608


@pytest.mark.parametrize("table", TABLES)
def test_application_may_not_truncate_even_with_the_old_bypass_setting(app_role, table):
    one_row_each()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL clinic_crm.audit_maintenance = 'on'")
        refused(f"TRUNCATE {table}", f"permission denied for table {table}")


@pytest.mark.parametrize("table", TABLES)
def test_application_may_not_switch_off_or_replace_the_triggers(app_role, table):
    refused(
        "SET session_replication_role = replica",
        'permission denied to set parameter "session_replication_role"',
    )
    refused(f"ALTER TABLE {table} DISABLE TRIGGER ALL", f"must be owner of table {table}")
    refused(f"ALTER TABLE {table} DISABLE TRIGGER USER", f"must be owner of table {table}")
    refused(f"DROP TABLE {table} CASCADE", f"must be owner of table {table}")
    refused(f"ALTER TABLE {table} OWNER TO CURRENT_USER", f"must be owner of table {table}")
    refused(
        f"CREATE TRIGGER let_through BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
        f"permission denied for table {table}",
    )
    # Nor can it write a function of its own for one.
    refused(
        "CREATE FUNCTION let_through() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
        "permission denied for schema public",
    )


@pytest.mark.parametrize("table", ["patients_consentrecord", "journeys_journeyevent"])
def test_application_may_move_rows_only_from_a_merged_card_to_its_target(app_role, table):
    pk = one_row_each()[table]
    stranger = PatientFactory()
    # The column privilege lets the statement run; the trigger refuses the move.
    with pytest.raises(DatabaseError, match="merged"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET patient_id = %s WHERE id = %s", [stranger.pk, pk])  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT patient_id FROM {table} WHERE id = %s", [pk])  # noqa: S608
        (source,) = cursor.fetchone()
        cursor.execute(
            "UPDATE patients_patient SET merged_into_id = %s, is_archived = true WHERE id = %s",
            [stranger.pk, source],
        )
        cursor.execute(f"UPDATE {table} SET patient_id = %s WHERE id = %s", [stranger.pk, pk])  # noqa: S608
        assert cursor.rowcount == 1


def test_application_privileges_are_exactly_these(app_role):
    """No TRUNCATE, REFERENCES or TRIGGER on any table; only SELECT and INSERT (and UPDATE
    of the patient column where merging moves rows) on the append-only ones; every table
    whose trigger refuses changes is one of them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(p.privilege ORDER BY p.privilege) FILTER "
            "(WHERE has_table_privilege(current_user, c.oid, p.privilege)) "
            "FROM pg_class c, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', "
            "'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege) "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
            "GROUP BY c.relname"
        )
        privileges = {table: set(granted or ()) for table, granted in cursor.fetchall()}
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
            "WHERE tgfoid IN ('audit_auditevent_refuse_change'::regproc, "
            "'patients_refuse_change_except_merge'::regproc)"
        )
        guarded = {table for (table,) in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped "
            "AND has_column_privilege(current_user, c.oid, a.attnum, 'UPDATE')",
            [TABLES],
        )
        movable = set(cursor.fetchall())
    ordinary = {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert len(privileges) > 50
    assert guarded == set(TABLES)
    for table, granted in privileges.items():
        if table in APPEND_ONLY_TABLES:
            assert granted == {"SELECT", "INSERT"}, table
        elif table == "django_migrations":
            assert granted == {"SELECT"}
        else:
            assert granted == ordinary, table
    assert movable == {
        ("patients_consentrecord", "patient_id"),
        ("journeys_journeyevent", "patient_id"),
    }


@pytest.mark.parametrize("table", TABLES)
def test_triggers_refuse_update_and_delete_even_to_the_owner(owner_db, table):
    pk = one_row_each()[table]
    column = changed_column(table)
    for statement in (
        f"UPDATE {table} SET {column} = 'rewritten' WHERE id = {pk}",  # noqa: S608
        f"DELETE FROM {table} WHERE id = {pk}",  # noqa: S608
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)


def test_owner_flushes_and_the_connection_is_the_application_role_again(transactional_db):
    one_row_each()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert not ConsentRecord.objects.exists()
    assert not JourneyEvent.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (settings.DATABASES["default"]["USER"],)


def test_truncate_is_refused_to_anyone_but_the_owner_whatever_they_may_or_set(
    transactional_db, app_role
):
    """The triggers let TRUNCATE through for the owner only: not for a superuser (who isn't
    the owner), not for a role that had been granted TRUNCATE, not by a setting."""
    from tests.conftest import _admin_database

    admin = _admin_database()
    try:
        raw = psycopg2.connect(
            dbname=connection.settings_dict["NAME"],
            host=admin["HOST"] or None,
            port=admin["PORT"] or None,
            user=admin["USER"],
            password=admin["PASSWORD"] or None,
            connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no administrator connection (DATABASE_ADMIN_URL): {exc}")
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET lock_timeout = '10s'")
            for table in TABLES:
                for as_app in (False, True):
                    cursor.execute("SAVEPOINT attempt")
                    cursor.execute("SET LOCAL clinic_crm.audit_maintenance = 'on'")
                    if as_app:
                        cursor.execute(
                            sql.SQL("GRANT TRUNCATE ON {} TO {}").format(
                                sql.Identifier(table), sql.Identifier(app_role)
                            )
                        )
                        cursor.execute(
                            sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(app_role))
                        )
                    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                        cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
                    cursor.execute("ROLLBACK TO SAVEPOINT attempt")
    finally:
        raw.rollback()
        raw.close()


def audit_warnings() -> set[str]:
    issues = run_checks(include_deployment_checks=True, databases=["default"])
    return {issue.id for issue in issues if issue.id.startswith("audit.")}


def test_deploy_check_warns_when_the_application_connects_as_the_owner(transactional_db, app_role):
    assert audit_warnings() == set()
    with owner_connection():
        assert audit_warnings() == {"audit.W002"}


# --- settings: which role is which ------------------------------------------------------
SHOW = (
    "from django.conf import settings as s; d = s.DATABASES['default']; m = s.DATABASE_MIGRATE;"
    "print(d['USER'], d['NAME'], m['USER'], m['NAME'])"
)


def test_development_defaults_are_two_roles_on_one_database():
    result = run_django(SHOW, env={"DATABASE_URL": "", "DATABASE_MIGRATE_URL": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "clinic_crm_app",
        "clinic_crm",
        "clinic_crm_owner",
        "clinic_crm",
    ]


def test_only_database_url_means_one_role_for_both():
    result = run_django(
        SHOW,
        env={
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/clinic_bench",
            "DATABASE_MIGRATE_URL": "",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["postgres", "clinic_bench", "postgres", "clinic_bench"]


@pytest.mark.parametrize(
    ("app_url", "owner_url", "message"),
    [
        (
            "postgres://app@127.0.0.1/one",
            "postgres://owner@127.0.0.1/other",
            "must name the same database",
        ),
        ("", "postgres://owner@127.0.0.1/one", "DATABASE_MIGRATE_URL is set but DATABASE_URL"),
        ("postgres://app@127.0.0.1/one", "mysql://owner@127.0.0.1/one", "must point at PostgreSQL"),
    ],
)
def test_inconsistent_database_urls_are_refused(app_url, owner_url, message):
    result = run_django(SHOW, env={"DATABASE_URL": app_url, "DATABASE_MIGRATE_URL": owner_url})
    assert result.returncode != 0
    assert message in result.stderr
