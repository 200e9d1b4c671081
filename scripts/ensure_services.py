"""Checks that PostgreSQL and Redis answer; creates the two database roles and the
database if they are missing.

The application's role (DATABASE_URL) and the owner's (DATABASE_MIGRATE_URL) are created
as an administrator (DATABASE_ADMIN_URL, by default the local ``postgres`` superuser),
with the passwords in their URLs if any. The database belongs to the owner role; a
database made before there were two roles (owned by ``postgres``) is handed over to it
with everything in its schema ``public``, and so is its test database if there is one.
With one role for both URLs nothing is created but the database.

Prints a clear message and exits 1 when a service is down, instead of a traceback later.
"""

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_crm.settings")

import dj_database_url  # noqa: E402
import psycopg2  # noqa: E402
import redis  # noqa: E402
from django.db.backends.base.creation import TEST_DATABASE_PREFIX  # noqa: E402
from psycopg2 import sql  # noqa: E402

DEFAULT_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def wait_for(name: str, check, attempts: int = 10) -> None:
    for attempt in range(attempts):
        try:
            check()
            return
        except psycopg2.OperationalError as exc:
            last = exc
            time.sleep(min(0.5 * (attempt + 1), 2))
        except psycopg2.Error as exc:  # it answers, but refuses: waiting won't help
            sys.exit(f"{name}: {exc}".strip())
        except Exception as exc:
            last = exc
            time.sleep(min(0.5 * (attempt + 1), 2))
    sys.exit(f"{name} is not reachable: {last}".strip())


def connect(database: dict, dbname: str | None = None):
    """An autocommit psycopg2 connection from a Django database settings dict."""
    conn = psycopg2.connect(
        dbname=dbname or database["NAME"],
        host=database["HOST"] or None,
        port=database["PORT"] or None,
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        connect_timeout=3,
    )
    conn.autocommit = True
    return conn


def role_ensure(cur, name: str, password: str, *, inherit: bool) -> None:
    """Creates a login role with no superuser, database or role rights if it is missing;
    the URL's password, if it has one, is set either way."""
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [name])
    found = cur.fetchone()
    attributes = sql.SQL(
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        + ("INHERIT" if inherit else "NOINHERIT")
    )
    if found is None:
        cur.execute(sql.SQL("CREATE ROLE {} ").format(sql.Identifier(name)) + attributes)
        print(f"Created database role {name}.")
    elif found[0]:
        sys.exit(f"Database role {name} is a superuser; the application's roles must not be.")
    if password:
        cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(name)), [password])


def database_ensure(admin: dict, name: str, owner: str, *, create: bool) -> None:
    """Makes ``owner`` the owner of database ``name`` and of the tables, sequences, views
    and functions in its schema ``public`` (not those of extensions); creates the
    database first when ``create`` and it is missing."""
    conn = connect(admin)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name])
        found = cur.fetchone()
        if found is None:
            if create:
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(owner)
                    )
                )
                print(f"Created database {name} owned by {owner}.")
            conn.close()
            return
        if found[0] != owner:
            cur.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(name), sql.Identifier(owner)
                )
            )
            print(f"Database {name} now belongs to {owner} (was {found[0]}).")
    conn.close()
    objects_hand_over(admin, name, owner)


def database_drop(admin: dict, name: str) -> None:
    conn = connect(admin)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


# Objects in schema public not owned by the owner: tables first (their own sequences, such
# as identity columns', follow them), then the rest. Extensions' members stay as they are.
_FOREIGN_OBJECTS = """
SELECT 'ALTER ' || CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                  ELSE 'TABLE' END
       || ' ' || c.oid::regclass::text || ' OWNER TO ' || quote_ident(%(owner)s)
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %(owner)s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
ORDER BY c.relkind = 'S'
"""
_FOREIGN_ROUTINES = """
SELECT 'ALTER ROUTINE ' || p.oid::regprocedure::text || ' OWNER TO ' || quote_ident(%(owner)s)
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND p.prokind IN ('f', 'p')
  AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = %(owner)s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
"""


def objects_hand_over(admin: dict, name: str, owner: str) -> None:
    conn = connect(admin, dbname=name)
    conn.autocommit = False
    moved = 0
    with conn, conn.cursor() as cur:  # one transaction: all handed over, or none
        for query in (_FOREIGN_OBJECTS, _FOREIGN_ROUTINES):
            cur.execute(query, {"owner": owner})
            for (statement,) in cur.fetchall():
                cur.execute(statement)
                moved += 1
    conn.close()
    if moved:
        print(f"{moved} objects in database {name} now belong to {owner}.")


def main() -> None:
    from django.conf import settings

    app = settings.DATABASES["default"]
    owner = {**settings.DATABASE_MIGRATE, "NAME": app["NAME"]}
    admin = dj_database_url.parse(os.environ.get("DATABASE_ADMIN_URL") or DEFAULT_ADMIN)
    two_roles = app["USER"] != owner["USER"]
    test_name = app.get("TEST", {}).get("NAME") or TEST_DATABASE_PREFIX + app["NAME"]

    def check_postgres() -> None:
        if not two_roles:
            # One role (e.g. a benchmark database as postgres): it creates its database.
            conn = connect(app, dbname="postgres")
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [app["NAME"]])
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(app["NAME"])))
                    print(f"Created database {app['NAME']}.")
            conn.close()
            return
        conn = connect(admin)
        with conn.cursor() as cur:
            role_ensure(cur, owner["USER"], owner["PASSWORD"], inherit=True)
            role_ensure(cur, app["USER"], app["PASSWORD"], inherit=False)
        conn.close()
        database_ensure(admin, app["NAME"], owner["USER"], create=True)
        database_ensure(admin, test_name, owner["USER"], create=False)

    redis_url = settings.REDIS_URL

    def check_redis() -> None:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()

    server = admin if two_roles else app
    wait_for(f"PostgreSQL at {server['HOST']}:{server['PORT'] or 5432}", check_postgres)
    wait_for(f"Redis at {urlsplit(redis_url).netloc}", check_redis)


if __name__ == "__main__":
    main()
