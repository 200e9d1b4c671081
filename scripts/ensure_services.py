"""Checks that PostgreSQL and Redis answer, and creates the database if it is missing.

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
from psycopg2 import sql  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/clinic_crm"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def wait_for(name: str, check, attempts: int = 10) -> None:
    for attempt in range(attempts):
        try:
            check()
            return
        except Exception as exc:
            last = exc
            time.sleep(min(0.5 * (attempt + 1), 2))
    sys.exit(f"{name} is not reachable: {last}".strip())


def main() -> None:
    db = dj_database_url.parse(os.environ.get("DATABASE_URL", DEFAULT_DB))
    params = {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
        "connect_timeout": 3,
    }

    def check_postgres() -> None:
        conn = psycopg2.connect(dbname="postgres", **params)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
                print(f"Created database {db['NAME']}.")
        conn.close()

    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)

    def check_redis() -> None:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()

    where = urlsplit(os.environ.get("DATABASE_URL", DEFAULT_DB))
    wait_for(f"PostgreSQL at {where.hostname}:{where.port or 5432}", check_postgres)
    wait_for(f"Redis at {urlsplit(redis_url).netloc}", check_redis)


if __name__ == "__main__":
    main()
