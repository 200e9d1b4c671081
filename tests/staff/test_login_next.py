"""The login's ``next``: a path on this site is kept (URL-encoded) through both steps;
one with CR, LF or another control character is ignored, so it can never split the
Location header (``next=/%0d%0aSet-Cookie:x`` was a 500)."""

import pytest
from django.test import Client

from clinic_crm.staff.roles import Role
from tests.conftest import PASSWORD, current_totp, password_only_client_for

pytestmark = pytest.mark.django_db

INJECTED = "/%0d%0aSet-Cookie:x"  # as it arrives in a query string
CONTROL_TARGETS = ["/\r\nSet-Cookie:x", "/\nSet-Cookie:x", "/\tpatients/", "/patients/\x00"]


def _login(client, data=None, query=""):
    return client.post(
        f"/accounts/login/{query}",
        {"username": data.pop("email"), "password": PASSWORD, **data},
    )


@pytest.mark.parametrize("target", CONTROL_TARGETS)
def test_password_step_ignores_a_next_with_control_characters(make_staff, target):
    user = make_staff(Role.DOCTOR)
    response = _login(Client(), {"email": user.email, "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/"
    assert "x" not in response.cookies


def test_password_step_ignores_crlf_in_the_query_string(make_staff):
    user = make_staff(Role.DOCTOR)
    response = _login(Client(), {"email": user.email}, query=f"?next={INJECTED}")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/"
    assert "x" not in response.cookies


def test_otp_step_ignores_crlf_in_next(make_staff):
    user = make_staff(Role.DOCTOR)
    client = password_only_client_for(user)
    page = client.get(f"/accounts/otp/?next={INJECTED}").content.decode()
    assert '<input type="hidden" name="next" value="">' in page  # not carried in the form
    response = client.post(f"/accounts/otp/?next={INJECTED}", {"token": current_totp(user.device)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "x" not in response.cookies


@pytest.mark.parametrize("target", CONTROL_TARGETS)
def test_otp_step_ignores_a_posted_next_with_control_characters(make_staff, target):
    user = make_staff(Role.DOCTOR)
    client = password_only_client_for(user)
    response = client.post("/accounts/otp/", {"token": current_totp(user.device), "next": target})
    assert response["Location"] == "/"


def test_a_good_next_is_url_encoded_and_kept_through_both_steps(make_staff):
    user = make_staff(Role.DOCTOR)
    client = Client()
    response = _login(client, {"email": user.email, "next": "/patients/?q=Анна&page=2"})
    assert response["Location"] == (
        "/accounts/otp/?next=%2Fpatients%2F%3Fq%3D%D0%90%D0%BD%D0%BD%D0%B0%26page%3D2"
    )
    done = client.post(response["Location"], {"token": current_totp(user.device)})
    assert done["Location"] == "/patients/?q=%D0%90%D0%BD%D0%BD%D0%B0&page=2"


def test_a_next_to_another_site_is_still_ignored(make_staff):
    user = make_staff(Role.DOCTOR)
    response = _login(Client(), {"email": user.email, "next": "https://evil.example/"})
    assert response["Location"] == "/accounts/otp/"
