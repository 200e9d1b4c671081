"""Production mode refuses unsafe settings; `check --deploy` is silent with real values."""

import pytest

from tests.helpers import run_django

SETUP = "import django; django.setup(); print('started')"
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-" + "x9Qz" * 16,
    "ALLOWED_HOSTS": "crm.clinic.example",
}


def test_production_refuses_missing_secret_key():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = run_django(SETUP, env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    "key", ["dev-insecure-abc" + "x" * 60, "django-insecure-" + "y" * 60, "short"]
)
def test_production_refuses_development_or_short_secret_key(key):
    result = run_django(SETUP, env={**PRODUCTION, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "refuses to start" in result.stderr


def test_production_requires_allowed_hosts():
    result = run_django(SETUP, env={**PRODUCTION, "ALLOWED_HOSTS": ""})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_development_starts_with_defaults():
    result = run_django(SETUP, env={"DEBUG": "true", "SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_bad_boolean_is_a_clear_error():
    result = run_django(SETUP, env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_check_deploy_prints_no_warnings():
    result = run_django("", env=PRODUCTION, args=["check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_lease_that_does_not_fit_the_providers_is_warned_about(settings):
    from clinic_crm.messaging.checks import check_send_lease

    settings.MESSAGING_SMS_BACKEND = "smsc"
    settings.MESSAGING_HTTP_TIMEOUT, settings.SMSC_DUPLICATE_WINDOW_SECONDS = 10, 60
    settings.MESSAGING_SEND_LEASE_SECONDS = 20
    assert check_send_lease() == []
    settings.MESSAGING_SEND_LEASE_SECONDS = 14  # renewed too late for a 10 s call
    assert [w.id for w in check_send_lease()] == ["messaging.W001"]
    settings.MESSAGING_SEND_LEASE_SECONDS = 30
    assert [w.id for w in check_send_lease()] == ["messaging.W002"]
    settings.MESSAGING_SMS_BACKEND = "console"  # no duplicate window to fit
    assert check_send_lease() == []
