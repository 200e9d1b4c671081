import json

import pytest
from django.db import connection

from tests.helpers import run_django

pytestmark = pytest.mark.django_db

HEALTH_SCRIPT = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def test_healthz_reports_database_and_redis_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["redis"]["ok"]


def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


def test_healthz_is_503_when_database_is_down():
    name = connection.settings_dict["NAME"]
    result = run_django(
        HEALTH_SCRIPT,
        env={
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:1/{name}",
            "DATABASE_MIGRATE_URL": "",  # one role, whatever the suite's environment says
            "ALLOWED_HOSTS": "testserver",
        },
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 503
    assert outcome["body"]["checks"]["database"]["ok"] is False
    assert outcome["body"]["checks"]["redis"]["ok"] is True


def test_page_with_database_down_is_clear_503_not_traceback():
    script = """
import django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "a" * 32  # loading the session needs the database
response = client.get("/", secure=True)
print(response.status_code)
print(response.content.decode())
"""
    result = run_django(
        script,
        env={
            "DATABASE_URL": "postgres://postgres@127.0.0.1:1/x",
            "DATABASE_MIGRATE_URL": "",
            "DEBUG": "false",
            "SECRET_KEY": "s" * 60,
            "ALLOWED_HOSTS": "testserver",
        },
    )
    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.partition("\n")
    assert status == "503"
    assert "Traceback" not in body
    assert "<html" in body
