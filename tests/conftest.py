"""Shared fixtures: staff personas of each role, logged in with both factors or only with
a password, against the real PostgreSQL and Redis."""

from __future__ import annotations

import itertools
import subprocess
import time

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp

from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import staff_create
from tests.factories import TOTPDeviceFactory

pytest_plugins = ["tests.worlds"]


def pytest_configure(config):
    # A staff member's password hashed with PBKDF2's million rounds took 85 % of the
    # suite's time (py-spy): tests hash with MD5 first. The production hashers stay in
    # the list, so a hash written by a subprocess (seed_demo, make run) still verifies.
    from django.conf import settings

    fast = "django.contrib.auth.hashers.MD5PasswordHasher"
    settings.PASSWORD_HASHERS = [fast, *(h for h in settings.PASSWORD_HASHERS if h != fast)]


PASSWORD = "Correct-horse-battery-42"
_emails = itertools.count(1)


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's set-up, except that the suite connects as the application role
    (DATABASE_URL) and proves the app works with only its privileges, while the test
    database belongs to the owner role (DATABASE_MIGRATE_URL) and is migrated by it: our
    ``migrate`` logs in as the owner, and so does ``flush`` after transactional tests.

    Neither role may create databases, so a missing test database (or one for
    ``--create-db``, or one that belongs to another role) is made by the administrator
    (DATABASE_ADMIN_URL), as ``scripts/ensure_services.py`` does for the main one."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    from clinic_crm.db import owner_credentials

    keepdb = django_db_keepdb and not django_db_createdb
    two_roles = owner_credentials() is not None
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        if two_roles:
            _test_database_prepare(connection, recreate=not keepdb)
        db_cfg = setup_databases(
            verbosity=verbosity,
            interactive=False,
            aliases=aliases,
            serialized_aliases=serialized_aliases,
            keepdb=keepdb or two_roles,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=verbosity, keepdb=two_roles)
            if two_roles:
                _test_database_drop(connection)


def _admin_database() -> dict:
    import os

    import dj_database_url

    from scripts.ensure_services import DEFAULT_ADMIN

    return dj_database_url.parse(os.environ.get("DATABASE_ADMIN_URL") or DEFAULT_ADMIN)


def _test_database_prepare(connection, *, recreate: bool) -> None:
    from django.conf import settings

    from scripts.ensure_services import database_drop, database_ensure

    name = connection.creation._get_test_db_name()
    owner = settings.DATABASE_MIGRATE["USER"]
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name])
        found = cursor.fetchone()
    if found is not None and found[0] == owner and not recreate:
        return
    if found is not None and recreate:
        database_drop(_admin_database(), name)
    database_ensure(_admin_database(), name, owner, create=True)


def _test_database_drop(connection) -> None:
    from scripts.ensure_services import database_drop

    database_drop(_admin_database(), connection.creation._get_test_db_name())


@pytest.fixture
def owner_db(transactional_db):
    """For the few tests that do what only the owner of the tables may (create a trigger,
    ANALYZE, TRUNCATE): the test's connection logs in as the owner role. Transactional,
    since a connection can't change its role inside the test's transaction; the flush
    afterwards runs as the owner too."""
    from clinic_crm.db import owner_connection

    with owner_connection() as connection:
        yield connection


@pytest.fixture
def app_role() -> str:
    """The application role's name, for tests of what it may not do; they are skipped
    when DATABASE_URL and DATABASE_MIGRATE_URL are one role (e.g. ``postgres``), which
    then may do everything the owner may."""
    from django.conf import settings

    from clinic_crm.db import owner_credentials

    if owner_credentials() is None:
        pytest.skip("one database role for the application and the owner")
    return settings.DATABASES["default"]["USER"]


def refused_by_privilege(table: str):
    """``pytest.raises`` for a statement PostgreSQL refuses because the role lacks the
    privilege on ``table`` ("permission denied for table …"); a refusal by one of our
    triggers, which would mean the privilege was granted, doesn't match."""
    from django.db import DatabaseError

    return pytest.raises(DatabaseError, match=f"^permission denied for table {table}$")


@pytest.fixture(autouse=True)
def _no_cached_messaging_rows():
    """The messaging settings and templates are cached for a few seconds per process;
    each test starts from its own database state, so from an empty cache."""
    from clinic_crm.messaging.caching import forget

    forget()
    yield
    forget()


@pytest.fixture(autouse=True)
def _reason_keywords_of_this_test(request):
    """The tagger reads the reason tags, cached for a few seconds per process
    (feedback.reason_tags): each test starts from its own database's. A test without the
    database reads the starting keywords (feedback.reason_lexicon), as an installation
    without the source would."""
    from feedback import reason_tags
    from feedback.reasons import LEXICON, lexicon_source_register

    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db"} & set(request.fixturenames)
    )
    reason_tags.forget()
    if not uses_db:
        lexicon_source_register(lambda: ("builtin", LEXICON))
    yield
    if not uses_db:
        lexicon_source_register(reason_tags.clinic_lexicon)
    reason_tags.forget()


@pytest.fixture(autouse=True)
def _english_messages_in_test_code():
    """Service and form messages raised in the test's own thread are asserted in English;
    requests still pick their language as users' do (LocaleMiddleware, Russian default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def current_totp(device, *, unused: bool = False) -> str:
    """The device's code for now; with ``unused``, for the next step when now's was
    already used (a second login within one 30-second step: django-otp refuses a code
    again, and accepts the next step's within its tolerance)."""
    step = 0
    if unused:
        device.refresh_from_db()
        now = int((time.time() - device.t0) // device.step)
        step = 1 if device.last_t is not None and device.last_t >= now else 0
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=step)
    return f"{code:06d}"


# Staff and patients made by the fixtures and factories belong to this branch unless a
# test says otherwise, so that the access rule (patients.access) lets colleagues see
# each other's patients as in a one-branch clinic.
MAIN = object()


@pytest.fixture
def make_staff(db):
    """Creates a staff member of a role, with a confirmed authenticator unless told not,
    working at the default branch unless given another (or ``branch=None``)."""
    from tests.factories import main_branch

    def make(
        role: str = Role.DOCTOR,
        *,
        with_device: bool = True,
        email: str | None = None,
        branch=MAIN,
        all_branches: bool = False,
    ):
        user, _ = staff_create(
            email=email or f"staff{next(_emails)}@clinic.test",
            role=role,
            password=PASSWORD,
            first_name="Test",
            last_name=role.title(),
            branch=main_branch() if branch is MAIN else branch,
            all_branches=all_branches,
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


# What the Django test client sends for an htmx request: ``client.get(url, **HTMX)``.
HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user, language: str = "en") -> Client:
    """``verified_client_for`` whose pages are in ``language`` (the language cookie)."""
    client = verified_client_for(user)
    client.cookies["django_language"] = language
    return client


def password_only_client_for(user) -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": user.email, "password": PASSWORD}).status_code
        == 302
    )
    return client


@pytest.fixture
def manager(make_staff):
    """A manager at the default branch, with a confirmed authenticator."""
    return make_staff(Role.MANAGER)


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
    c.doctor = make_staff(Role.DOCTOR, branch=c.branch)
    c.doctor.profile.specialty = c.ortho
    c.doctor.profile.save()
    c.surgeon = make_staff(Role.DOCTOR, branch=c.branch)
    c.surgeon.profile.specialty = c.surgery
    c.surgeon.profile.save()
    c.curator = make_staff(Role.CURATOR, branch=c.branch)
    c.admin = make_staff(Role.ADMINISTRATOR, branch=c.branch)
    c.manager = make_staff(Role.MANAGER, branch=c.branch)
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
