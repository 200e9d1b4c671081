"""SQL pieces more than one app uses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg2 import sql


def values_sql(cursor, template: str, rows: Iterable[tuple]) -> str:
    """Rows quoted by psycopg2 for a ``VALUES`` list (``template`` such as
    ``"(%s::bigint, %s::date)"``), ready to go into a statement that still takes
    parameters: the quoted text's own ``%`` signs are doubled."""
    raw = cursor.cursor
    return b",".join(raw.mogrify(template, row) for row in rows).decode().replace("%", "%%")


# --- The two database roles ---------------------------------------------------------------
# The application connects as a role that owns nothing; migrations and maintenance run as
# the owner of the tables (settings.DATABASE_MIGRATE). On the append-only tables the
# application may only INSERT and SELECT, and change nothing of a row but the patient
# column that merging duplicate cards re-points (the tables' triggers allow only that
# move, from a merged card to the card it was merged into).
APPEND_ONLY_TABLES: dict[str, tuple[str, ...]] = {
    "audit_auditevent": (),
    "patients_consentrecord": ("patient_id",),
    "journeys_journeyevent": ("patient_id",),
}
# Read by the application, written only by migrate.
READ_ONLY_TABLES = ("django_migrations",)
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def owner_credentials(using: str = DEFAULT_DB_ALIAS) -> dict | None:
    """The owner role's connection fields for ``using``, or None when the application
    already connects as the owner (one role for both, or another database alias)."""
    if using != DEFAULT_DB_ALIAS:
        return None
    owner = {key: settings.DATABASE_MIGRATE[key] for key in _CREDENTIALS}
    current = connections[using].settings_dict
    if all(current[key] == owner[key] for key in ("USER", "HOST", "PORT")):
        return None
    return owner


@contextmanager
def owner_connection(using: str = DEFAULT_DB_ALIAS) -> Iterator[BaseDatabaseWrapper]:
    """For the block, the connection ``using`` logs in as the owner role (same database
    NAME, so in tests the test database); afterwards as the application role again.

    Only this thread's connection changes: other threads (a live test server) keep theirs.
    Inside an open transaction (a test's) a connection can't change its role, so the
    block then runs in that transaction as the role that opened it, and fails there if
    that role may not do what the block does."""
    connection = connections[using]
    owner = owner_credentials(using)
    if owner is None or connection.in_atomic_block:
        yield connection
        return
    application = connection.settings_dict
    connection.close()
    connection.settings_dict = {**application, **owner}
    try:
        yield connection
    finally:
        connection.close()
        # What else the block changed stays (create_test_db renames the database).
        application.update(
            {k: v for k, v in connection.settings_dict.items() if k not in _CREDENTIALS}
        )
        connection.settings_dict = application


def app_privileges_grant(connection: BaseDatabaseWrapper, role: str) -> None:
    """Gives the application role exactly its privileges on everything in schema public,
    in one transaction, as the owner: reading and writing ordinary tables, only INSERT
    and SELECT (and moving the patient column) on the append-only tables, SELECT on the
    migrations table, no TRUNCATE, REFERENCES or TRIGGER anywhere. Tables that later
    migrations create get the ordinary privileges by default, until the next run of this
    (after every migrate) narrows them."""
    app = sql.Identifier(role)
    statements = [
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(app),
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(app),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            app
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(app),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(app),
    ]
    existing = set(connection.introspection.table_names())
    for table in READ_ONLY_TABLES:
        if table in existing:
            statements.append(
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                    sql.Identifier(table), app
                )
            )
    for table, movable in APPEND_ONLY_TABLES.items():
        if table not in existing:
            continue
        statements.append(
            sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), app)
        )
        if movable:
            statements.append(
                sql.SQL("GRANT UPDATE ({}) ON {} TO {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, movable)), sql.Identifier(table), app
                )
            )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.as_string(cursor.cursor))
