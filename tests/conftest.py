"""Shared fixtures: staff personas of each role, logged in with both factors or only with
a password, against the real PostgreSQL and Redis."""

from __future__ import annotations

import itertools
import subprocess

import pytest
from django.db.backends.signals import connection_created
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp

from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from tests.factories import TOTPDeviceFactory

PASSWORD = "Correct-horse-battery-42"
_emails = itertools.count(1)


def _allow_audit_truncate(sender, connection, **kwargs):
    # pytest-django flushes the database with TRUNCATE after transactional tests; the
    # audit table's trigger lets that through only in a session that asks for it.
    with connection.cursor() as cursor:
        cursor.execute("SET clinic_crm.audit_maintenance = 'on'")


connection_created.connect(_allow_audit_truncate, dispatch_uid="tests_audit_truncate")


@pytest.fixture(autouse=True)
def _no_cached_messaging_rows():
    """The messaging settings and templates are cached for a few seconds per process;
    each test starts from its own database state, so from an empty cache."""
    from clinic_crm.messaging.caching import forget

    forget()
    yield
    forget()


@pytest.fixture(autouse=True)
def _english_messages_in_test_code():
    """Service and form messages raised in the test's own thread are asserted in English;
    requests still pick their language as users' do (LocaleMiddleware, Russian default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def current_totp(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def make_staff(db):
    """Creates a staff member of a role, with a confirmed authenticator unless told not."""

    def make(role: str = Role.DOCTOR, *, with_device: bool = True, email: str | None = None):
        user, _ = staff_create(
            email=email or f"staff{next(_emails)}@clinic.test",
            role=role,
            password=PASSWORD,
            first_name="Test",
            last_name=role.title(),
        )
        user.device = TOTPDeviceFactory(user=user) if with_device else None
        return user

    return make


def verified_client_for(user) -> Client:
    """A client whose session passed both factors (the device is the user's own)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.device.persistent_id
    session.save()
    return client


def password_only_client_for(user) -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": user.email, "password": PASSWORD}).status_code
        == 302
    )
    return client


@pytest.fixture
def staff_client(make_staff):
    """``staff_client(role)`` -> (client with both factors verified, user)."""

    def make(role: str = Role.DOCTOR):
        user = make_staff(role)
        return verified_client_for(user), user

    return make


@pytest.fixture
def clinic(make_staff):
    """A branch with two doctors who work every day 08–20 (an orthodontist and a
    surgeon), a curator, an administrator, a manager, a service and a patient."""
    from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
    from tests.journeys.factories import ServiceFactory, full_week

    class Clinic:
        pass

    c = Clinic()
    c.branch = BranchFactory(name="Central", time_zone="Europe/Moscow")
    c.ortho = SpecialtyFactory(name="Orthodontics")
    c.surgery = SpecialtyFactory(name="Surgery")
    c.service = ServiceFactory(name="Braces check", specialty=c.ortho, duration_minutes=30)
    c.doctor = make_staff(Role.DOCTOR)
    c.doctor.profile.specialty = c.ortho
    c.doctor.profile.branch = c.branch
    c.doctor.profile.save()
    c.surgeon = make_staff(Role.DOCTOR)
    c.surgeon.profile.specialty = c.surgery
    c.surgeon.profile.branch = c.branch
    c.surgeon.profile.save()
    c.curator = make_staff(Role.CURATOR)
    c.admin = make_staff(Role.ADMINISTRATOR)
    c.manager = make_staff(Role.MANAGER)
    full_week(c.doctor, c.branch)
    full_week(c.surgeon, c.branch)
    c.patient = PatientFactory(home_branch=c.branch)
    return c


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker in its own process, consuming from the real Redis broker and
    writing to the test database."""
    from django.conf import settings

    from clinic_crm.celery import app
    from tests.processes import start_worker, wait_until, worker_env

    app.control.purge()
    process = start_worker(worker_env(settings.CELERY_BROKER_URL), "celery-worker")
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError("Celery worker exited; see var/test-celery-worker.log")
            return bool(app.control.ping(timeout=0.5))

        wait_until(answers, timeout=60, what="the Celery worker to answer")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def visit_survey():
    """The micro-survey, aspects and reasons a clinic starts with, as the data migration
    writes them (written again here: transactional tests flush the database)."""
    from feedback.defaults import defaults_create
    from feedback.models import CsiAttribute, ReasonTag, Survey

    defaults_create(CsiAttribute, Survey, ReasonTag)
    return Survey.objects.get(kind=Survey.Kind.VISIT, is_active=True)
