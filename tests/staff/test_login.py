"""Password + second factor: the only way in."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from tests.conftest import PASSWORD, current_totp, password_only_client_for, verified_client_for

pytestmark = pytest.mark.django_db


def test_password_step_leads_to_second_factor_not_to_data(make_staff):
    user = make_staff(Role.DOCTOR)
    client = Client()
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/otp/")
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"].startswith("/accounts/otp/")
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_SUCCESS, actor=user).exists()


def test_user_without_device_is_sent_to_enrol(make_staff):
    user = make_staff(Role.CURATOR, with_device=False)
    client = Client()
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response["Location"].startswith("/accounts/enrol/")
    assert client.get("/accounts/otp/")["Location"] == "/accounts/enrol/"


def test_login_email_is_case_insensitive(make_staff):
    user = make_staff(Role.DOCTOR)
    response = Client().post(
        "/accounts/login/", {"username": user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302


def test_wrong_password_shows_message_and_is_audited(make_staff):
    user = make_staff(Role.DOCTOR)
    response = Client().post("/accounts/login/", {"username": user.email, "password": "nope"})
    assert response.status_code == 200
    assert (
        "Wrong email or password." in response.content.decode()
        or "Неверный email или пароль." in response.content.decode()
    )
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILURE)
    assert event.actor_email == user.email
    assert event.ip_address == "127.0.0.1"


def _fail(client, email, times):
    for _ in range(times):
        response = client.post("/accounts/login/", {"username": email, "password": "wrong-one"})
    return response


def test_account_locks_after_repeated_failures_then_cools_off(make_staff, settings):
    user = make_staff(Role.DOCTOR)
    response = _fail(Client(REMOTE_ADDR="10.0.0.1"), user.email, settings.AXES_FAILURE_LIMIT)
    assert response.status_code == 429
    # Locked even with the right password and from another address.
    locked = Client(REMOTE_ADDR="10.0.0.2").post(
        "/accounts/login/", {"username": user.email, "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert AuditEvent.objects.filter(action=AuditAction.LOCKOUT).exists()
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
        again = Client(REMOTE_ADDR="10.0.0.2").post(
            "/accounts/login/", {"username": user.email, "password": PASSWORD}
        )
    assert again.status_code == 302


def test_ip_address_locks_across_accounts(make_staff, settings):
    users = [make_staff(Role.DOCTOR) for _ in range(settings.AXES_FAILURE_LIMIT)]
    client = Client(REMOTE_ADDR="10.0.0.9")
    for user in users:
        response = _fail(client, user.email, 1)
    assert response.status_code == 429
    fresh = make_staff(Role.DOCTOR)
    blocked = client.post("/accounts/login/", {"username": fresh.email, "password": PASSWORD})
    assert blocked.status_code == 429


def test_correct_totp_verifies_session(make_staff):
    user = make_staff(Role.MANAGER)
    client = password_only_client_for(user)
    response = client.post("/accounts/otp/", {"token": current_totp(user.device)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.OTP_SUCCESS, actor=user).exists()


def test_wrong_totp_is_refused_audited_and_throttled(make_staff):
    user = make_staff(Role.DOCTOR)
    client = password_only_client_for(user)
    wrong = "000000" if current_totp(user.device) != "000000" else "111111"
    response = client.post("/accounts/otp/", {"token": wrong})
    assert response.status_code == 400
    assert AuditEvent.objects.filter(action=AuditAction.OTP_FAILURE, actor=user).count() == 1
    # Right code straight after a failure: still refused, the device is throttled.
    throttled = client.post("/accounts/otp/", {"token": current_totp(user.device)})
    assert throttled.status_code == 400
    assert client.get("/").status_code == 302
    user.device.refresh_from_db()
    assert user.device.throttling_failure_count == 1


def test_throttle_grows_with_each_failure(make_staff):
    user = make_staff(Role.DOCTOR)
    client = password_only_client_for(user)
    start = timezone.now()
    for step in range(4):
        with time_machine.travel(start + timedelta(minutes=10 * step), tick=False):
            client.post("/accounts/otp/", {"token": "999999"})
    user.device.refresh_from_db()
    assert user.device.throttling_failure_count == 4
    with time_machine.travel(start + timedelta(minutes=30, seconds=4), tick=False):
        allowed, _info = user.device.verify_is_allowed()
    assert not allowed  # 4th failure requires 8 s


def test_reused_totp_code_is_refused(make_staff):
    user = make_staff(Role.DOCTOR)
    code = current_totp(user.device)
    first = password_only_client_for(user)
    assert first.post("/accounts/otp/", {"token": code}).status_code == 302
    second = password_only_client_for(user)
    response = second.post("/accounts/otp/", {"token": code})
    assert response.status_code == 400
    assert second.get("/").status_code == 302


def test_backup_code_works_once(make_staff):
    user = make_staff(Role.DOCTOR)
    device = StaticDevice.objects.create(user=user, name="Backup codes")
    StaticToken.objects.create(device=device, token="abcd2345")
    first = password_only_client_for(user)
    assert first.post("/accounts/otp/", {"token": "ABCD 2345"}).status_code == 302
    assert first.get("/").status_code == 200
    second = password_only_client_for(user)
    assert second.post("/accounts/otp/", {"token": "abcd2345"}).status_code == 400
    assert not StaticToken.objects.filter(device=device).exists()


def test_enrolment_shows_secret_and_issues_backup_codes_once(make_staff):
    user = make_staff(Role.ADMINISTRATOR, with_device=False)
    client = password_only_client_for(user)
    page = client.get("/accounts/enrol/")
    assert page.status_code == 200
    assert b"<svg" in page.content
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post("/accounts/enrol/", {"token": "12345"}).status_code == 400
    response = client.post("/accounts/enrol/", {"token": current_totp(device)})
    assert response["Location"] == "/accounts/backup-codes/"
    codes_page = client.get("/accounts/backup-codes/")
    codes = list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert len(codes) == 10
    assert all(code in codes_page.content.decode() for code in codes)
    again = client.get("/accounts/backup-codes/").content.decode()
    assert not any(code in again for code in codes)
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.OTP_ENROLLED, actor=user).exists()


def test_password_only_session_cannot_enrol_a_second_device(make_staff):
    user = make_staff(Role.DOCTOR)
    client = password_only_client_for(user)
    response = client.get("/accounts/enrol/")
    assert response["Location"] == "/accounts/otp/"
    response = client.post("/accounts/enrol/", {"token": "123456"})
    assert response["Location"] == "/accounts/otp/"


def test_idle_session_expires_after_timeout(make_staff, settings):
    user = make_staff(Role.DOCTOR)
    client = verified_client_for(user)
    timeout = timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
    start = timezone.now()
    with time_machine.travel(start + timeout - timedelta(minutes=1)):
        assert client.get("/").status_code == 200  # activity pushes the expiry on
    with time_machine.travel(start + 2 * timeout - timedelta(minutes=2)):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + 3 * timeout):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_logout_ends_session_on_the_server(make_staff):
    user = make_staff(Role.DOCTOR)
    client = verified_client_for(user)
    session_key = client.cookies["sessionid"].value
    cookie = client.cookies.copy()
    assert client.post("/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=session_key).exists()
    replay = Client()
    replay.cookies = cookie
    assert replay.get("/")["Location"].startswith("/accounts/login/")
    assert AuditEvent.objects.filter(action=AuditAction.LOGOUT, actor=user).exists()


def test_tampered_session_cookie_is_anonymous(make_staff):
    user = make_staff(Role.DOCTOR)
    client = verified_client_for(user)
    client.cookies["sessionid"] = client.cookies["sessionid"].value[:-3] + "zzz"
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_manager_resets_second_factor_and_it_is_audited(make_staff):
    manager, doctor = make_staff(Role.MANAGER), make_staff(Role.DOCTOR)
    doctor_client = verified_client_for(doctor)
    assert doctor_client.get("/").status_code == 200
    response = verified_client_for(manager).post(f"/staff/{doctor.pk}/reset-2fa/")
    assert response.status_code == 302
    assert not doctor.totpdevice_set.exists()
    event = AuditEvent.objects.get(action=AuditAction.OTP_RESET)
    assert event.actor == manager
    assert event.details["target_user_id"] == doctor.pk
    # The doctor's open session lost its verification with the device.
    assert doctor_client.get("/")["Location"].startswith("/accounts/otp/")


def test_only_managers_reset_and_not_their_own(make_staff):
    manager, doctor, curator = (make_staff(r) for r in (Role.MANAGER, Role.DOCTOR, Role.CURATOR))
    assert verified_client_for(curator).post(f"/staff/{doctor.pk}/reset-2fa/").status_code == 403
    verified_client_for(manager).post(f"/staff/{manager.pk}/reset-2fa/")
    assert manager.totpdevice_set.exists()
    assert doctor.totpdevice_set.exists()
