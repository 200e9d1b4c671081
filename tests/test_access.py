"""No URL gives staff data to anyone short of a verified second factor."""

import pytest
from django.urls import get_resolver

from clinic_crm.staff.roles import Role
from tests.conftest import password_only_client_for, verified_client_for
from tests.factories import PatientFactory
from tests.helpers import walk_urls

pytestmark = pytest.mark.django_db

# Adding a name here is a conscious decision that the page shows no staff data.
PUBLIC_URL_NAMES = {
    "healthz",
    "set_language",
    "staff:login",
    "staff:logout",
    "staff:set_password",  # the invitation's signed, expiring link; tests/staff
    "journeys:patient_calendar",  # signed, expiring link; tested in tests/journeys
    "messaging:optout",  # signed link from a message; tested in tests/messaging
    "journeys:visit_answer",  # signed link from a reminder; tested in tests/messaging
    "journeys:feel_answer",  # signed link from a follow-up; tested in tests/messaging
    "messaging:delivery_callback",  # provider's, secret token in the path; tests/messaging
    "journeys:screening",  # signed link from a reminder; tests/journeys/test_screening.py
    "feedback:survey",  # the survey's short signed link; tests/feedback/test_survey_page.py
    "feedback:survey_opened",  # that page's beacon, the same link
    "improvements:clinic",  # the public "you said, we did"; tests/feedback
    "improvements:branch",
    # The reception tablet's pages: a paired device's credential (a cookie), never a staff
    # session; an unpaired or revoked browser is refused (tests/feedback/test_kiosk.py).
    "kiosk:start",
    "kiosk:pair",
    "kiosk:current",
    "kiosk:survey",
    "kiosk:answer",
}
PASSWORD_ONLY_URL_NAMES = {"staff:otp", "staff:enrol"}
SAMPLE_VALUES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000001",
}


def _concrete(route: str) -> str:
    """Turns a route (path converters or regex) into a URL with sample values."""
    import re

    route = re.sub(
        r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_VALUES.get(m.group(1) or "str", "x"), route
    )
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
    route = route.replace("^", "").replace("$", "").replace("\\", "")
    route = re.sub(r"[()?*+]", "", route)
    return "/" + route


def all_protected_urls(skip=frozenset()):
    urls = []
    for route, name in walk_urls(get_resolver().url_patterns):
        if name in PUBLIC_URL_NAMES or name in skip:
            continue
        urls.append(_concrete(route))
    return sorted(set(urls))


def test_url_list_covers_the_app():
    urls = all_protected_urls()
    for expected in ["/", "/patients/", "/patients/1/", "/api/patients/1/", "/audit/", "/admin/"]:
        assert expected in urls
    assert len(urls) > 40  # admin pages included


def _assert_no_data(response, url, login_target):
    if url.startswith("/api/"):
        assert response.status_code == 403, url
        assert response.json().get("detail"), url
        return
    assert response.status_code == 302, f"{url} answered {response.status_code}"
    assert response["Location"].startswith(login_target), f"{url} -> {response['Location']}"


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_gets_no_staff_data_anywhere(client, method):
    PatientFactory(id=1)
    for url in all_protected_urls():
        response = getattr(client, method)(url)
        _assert_no_data(response, url, "/accounts/login/")


@pytest.mark.parametrize("method", ["get", "post"])
def test_password_only_session_gets_no_staff_data_anywhere(make_staff, method):
    PatientFactory(id=1)
    user = make_staff(Role.MANAGER)
    user.is_superuser = True  # even a superuser needs the second factor
    user.is_staff = True
    user.save()
    client = password_only_client_for(user)
    for url in all_protected_urls(skip=PASSWORD_ONLY_URL_NAMES):
        response = getattr(client, method)(url)
        _assert_no_data(response, url, "/accounts/otp/")


def test_htmx_request_without_second_factor_gets_redirect_header(make_staff):
    client = password_only_client_for(make_staff(Role.DOCTOR))
    response = client.get("/patients/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/accounts/otp/")
    assert b"<table" not in response.content


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        (Role.DOCTOR, "/audit/", 403),
        (Role.CURATOR, "/staff/", 403),
        (Role.ADMINISTRATOR, "/audit/", 403),
        (Role.MANAGER, "/audit/", 200),
        (Role.MANAGER, "/staff/", 200),
        (Role.DOCTOR, "/patients/", 200),
    ],
)
def test_pages_check_the_role(staff_client, role, url, status):
    client, _user = staff_client(role)
    assert client.get(url).status_code == status


def test_each_role_sees_its_own_home(staff_client):
    headings = {}
    for role in Role.values:
        client, _user = staff_client(role)
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert response.templates[0].name == "staff/home.html"
        headings[role] = response.content
    assert len(set(headings.values())) == 4


def test_verified_user_without_role_gets_clear_refusal(make_staff):
    user = make_staff(Role.DOCTOR)
    user.groups.clear()
    response = verified_client_for(user).get("/")
    assert response.status_code == 403
    assert "role" in response.content.decode().lower() or "рол" in response.content.decode()


def test_api_needs_verified_staff(staff_client, make_staff):
    PatientFactory(id=1)
    client, _user = staff_client(Role.DOCTOR)
    assert client.get("/api/patients/1/").status_code == 200
    assert (
        password_only_client_for(make_staff(Role.DOCTOR)).get("/api/patients/1/").status_code == 403
    )


def test_doctor_home_lists_todays_visits(clinic):
    from datetime import timedelta

    from django.utils import timezone

    from tests.journeys.factories import VisitFactory

    start = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=start + timedelta(days=1),
        ends_at=start + timedelta(days=1, minutes=30),
    )
    response = verified_client_for(clinic.doctor).get("/")
    assert [v.starts_at for v in response.context["today_visits"]] == [start]
    assert clinic.patient.full_name in response.content.decode()
