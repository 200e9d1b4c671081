"""Staff sessions: a new session key once the second factor is verified, and an absolute
lifetime counted from the password login that steady use does not extend."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from tests.conftest import current_totp, password_only_client_for

pytestmark = pytest.mark.django_db


def _session_key(client: Client) -> str:
    return client.cookies["sessionid"].value


def test_verifying_the_second_factor_rotates_the_session_key(make_staff):
    user = make_staff(Role.DOCTOR)
    client = password_only_client_for(user)
    before = _session_key(client)
    assert client.post("/accounts/otp/", {"token": current_totp(user.device)}).status_code == 302
    after = _session_key(client)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get("/").status_code == 200
    # The key known before the second factor opens nothing.
    replay = Client()
    replay.cookies["sessionid"] = before
    assert replay.get("/")["Location"].startswith("/accounts/login/")


def test_confirming_an_enrolment_rotates_the_session_key(make_staff):
    user = make_staff(Role.ADMINISTRATOR, with_device=False)
    client = password_only_client_for(user)
    client.get("/accounts/enrol/")
    before = _session_key(client)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/accounts/enrol/", {"token": current_totp(device)})
    assert response["Location"] == "/accounts/backup-codes/"
    assert _session_key(client) != before
    assert not Session.objects.filter(session_key=before).exists()
    # The codes issued with the confirmation were kept for the new session to show once.
    assert 'data-testid="backup-codes"' in client.get("/accounts/backup-codes/").content.decode()


def test_the_absolute_lifetime_defaults_to_twelve_hours(settings):
    assert settings.SESSION_ABSOLUTE_LIFETIME_HOURS == 12


@pytest.fixture
def busy_session(make_staff, settings):
    """A session logged in with both factors at ``start``, with the idle timeout out of
    the way (a day), so only the absolute lifetime can end it."""
    settings.SESSION_COOKIE_AGE = 24 * 3600
    user = make_staff(Role.DOCTOR)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = password_only_client_for(user)
        client.post("/accounts/otp/", {"token": current_totp(user.device)})
        assert client.get("/").status_code == 200
    return client, user, start


def test_a_session_in_steady_use_ends_twelve_hours_after_the_password_login(busy_session):
    client, user, start = busy_session
    for hours in (3, 6, 9, 11.9):
        with time_machine.travel(start + timedelta(hours=hours)):
            assert client.get("/").status_code == 200
    key = _session_key(client)
    with time_machine.travel(start + timedelta(hours=12, minutes=1)):
        response = client.get("/patients/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=/patients/"
        assert not Session.objects.filter(session_key=key).exists()  # flushed
        login = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        assert "a session lasts at most 12 hours" in login.content.decode()
        assert client.get("/")["Location"].startswith("/accounts/login/")  # not the OTP step
    event = AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=user).get()
    assert event.details["reason"] == "session_lifetime"


def test_an_outlived_session_gets_hx_redirect_for_htmx(busy_session):
    client, _user, start = busy_session
    with time_machine.travel(start + timedelta(hours=13)):
        response = client.get("/patients/", HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_an_outlived_session_gets_403_json_from_the_api(busy_session):
    client, _user, start = busy_session
    with time_machine.travel(start + timedelta(hours=13)):
        response = client.get("/api/patients/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403
        assert response.json() == {"detail": "Your session has ended. Log in again."}
        assert client.get("/api/patients/").status_code == 403  # logged out, not just refused


def test_the_lifetime_is_a_setting_and_counts_from_the_password_step(make_staff, settings):
    settings.SESSION_ABSOLUTE_LIFETIME_HOURS = 1
    settings.SESSION_COOKIE_AGE = 24 * 3600  # the idle timeout out of the way
    user = make_staff(Role.DOCTOR)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = password_only_client_for(user)
    # The second factor entered 50 minutes later does not restart the clock.
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        response = client.post("/accounts/otp/", {"token": current_totp(user.device)})
        assert response.status_code == 302
        assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_password_only_session_outlived_goes_to_the_login_page(make_staff, settings):
    settings.SESSION_COOKIE_AGE = 24 * 3600
    user = make_staff(Role.DOCTOR)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = password_only_client_for(user)
    with time_machine.travel(start + timedelta(hours=12, seconds=1), tick=False):
        response = client.get("/accounts/otp/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
