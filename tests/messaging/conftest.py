"""Fixtures for the outbox: a fake SMS/Telegram provider on 127.0.0.1 wired into the
settings, a clinic patient reachable on SMS, and a fixed "now" in the clinic's day."""

from datetime import UTC, datetime, timedelta

import pytest

from patients.models import ConsentRecord
from tests.messaging.fake_provider import FakeProvider

# Tuesday 1 December 2026, 10:00 in Moscow: outside quiet hours.
MORNING = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def providers(settings, fake, tmp_path):
    settings.MESSAGING_SMS_BACKEND = "smsc"
    settings.SMSC_API_URL = fake.smsc_url
    settings.SMSC_LOGIN = "clinic"
    settings.SMSC_PASSWORD = "secret"
    settings.MESSAGING_TELEGRAM_BACKEND = "telegram"
    settings.TELEGRAM_API_URL = fake.url
    settings.TELEGRAM_BOT_TOKEN = "123:token"
    settings.MESSAGING_EMAIL_BACKEND = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MESSAGING_HTTP_TIMEOUT = 2
    settings.PUBLIC_BASE_URL = "https://crm.example"
    return fake


@pytest.fixture
def morning(time_machine):
    time_machine.move_to(MORNING, tick=False)
    return MORNING


def consent(patient, kind="reminders", channel="any", granted=True, at=None):
    return ConsentRecord.objects.create(
        patient=patient,
        kind=kind,
        channel=channel,
        granted=granted,
        recorded_at=at or MORNING - timedelta(days=30),
    )


def book(clinic, *, starts_at, patient=None, stage=None):
    from journeys.services.visits import visit_book

    return visit_book(
        actor=clinic.admin,
        patient=patient or clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=starts_at,
        stage=stage,
    )
