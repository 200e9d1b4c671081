"""Every HTML page carries the Content-Security-Policy (script only from the site itself:
no 'unsafe-inline', no 'unsafe-eval') and the Permissions-Policy, and holds nothing the
policy would refuse: no inline script, event handler, hx-on or <style> element."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import include, path

from clinic_crm.staff.access import public
from clinic_crm.staff.roles import Role
from journeys.patient_links import calendar_path
from tests.conftest import PASSWORD, verified_client_for
from tests.journeys.factories import VisitFactory, accepted_plan, tomorrow_at

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
DJANGO_COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def _fail(request):
    raise RuntimeError("a deliberate failure")


urlpatterns = [path("fail/", public(_fail)), path("", include("clinic_crm.urls"))]
handler500 = "clinic_crm.errors.server_error"


def directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


class InlineCode(HTMLParser):
    """Collects what a strict policy refuses in a page's markup."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in attributes:
            if attributes.get("type") != "application/json":  # data, never run
                self.found.append("<script> without src")
        for name, value in attributes.items():
            if name.startswith(("on", "hx-on", "data-hx-on")):
                self.found.append(f"<{tag} {name}>")
            if (value or "").strip().lower().startswith(("javascript:", "js:")):
                self.found.append(f"<{tag} {name}={value!r}>")


def assert_policies(response) -> None:
    assert response["Content-Type"].startswith("text/html")
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    for name, values in policy.items():
        assert "'unsafe-eval'" not in values, name
        if name != "style-src-attr":
            assert "'unsafe-inline'" not in values, name
    features = dict(
        item.strip().split("=", 1) for item in response.headers["Permissions-Policy"].split(",")
    )
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"
    checker = InlineCode()
    checker.feed(response.content.decode())
    assert checker.found == [], response.request["PATH_INFO"]


def test_pages_of_every_kind_carry_both_policies_and_no_inline_code(clinic, make_staff):
    _plan, stages = accepted_plan(clinic, stages=2)
    visit = VisitFactory(
        patient=clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        stage=stages[0],
        starts_at=tomorrow_at(10),
        ends_at=tomorrow_at(10) + timedelta(minutes=30),
    )
    clinic.admin.profile.branch = clinic.branch
    clinic.admin.profile.save()
    pages = {
        None: ["/accounts/login/", calendar_path(patient_id=clinic.patient.pk)],
        clinic.admin: [
            "/",
            f"/calendar/?branch={clinic.branch.pk}",
            f"/calendar/week/?branch={clinic.branch.pk}",
            f"/calendar/slots/?branch={clinic.branch.pk}",
            "/routing/",
        ],
        clinic.doctor: [
            "/",
            "/patients/",
            f"/patients/{clinic.patient.pk}/",
            f"/patients/{clinic.patient.pk}/timeline/",
            f"/visits/{visit.pk}/complete/",
        ],
        clinic.curator: ["/", "/worklist/"],
        clinic.manager: ["/", "/metrics/dashboard/", "/staff/", "/audit/", "/messages/"],
    }
    for user, urls in pages.items():
        client = verified_client_for(user) if user else Client()
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert_policies(response)

    # HTMX fragments are swapped into a page that already has the policy, and still carry it.
    fragment = verified_client_for(clinic.doctor).get(
        "/patients/", {"q": clinic.patient.last_name}, headers={"HX-Request": "true"}
    )
    assert_policies(fragment)

    # DRF's browsable API (its code colours come from a stylesheet, not a <style>).
    api = verified_client_for(clinic.doctor).get("/api/patients/", headers={"Accept": "text/html"})
    assert api.status_code == 200
    assert_policies(api)

    # A staff member enrolling an authenticator (the QR code is inline SVG).
    newcomer = make_staff(Role.CURATOR, with_device=False)
    client = Client()
    client.post("/accounts/login/", {"username": newcomer.email, "password": PASSWORD})
    enrol = client.get("/accounts/enrol/")
    assert enrol.status_code == 200
    assert b"<svg" in enrol.content
    assert_policies(enrol)


def test_error_pages_carry_both_policies(clinic):
    response = verified_client_for(clinic.doctor).get("/patients/999999999/")
    assert response.status_code == 404
    assert_policies(response)


@pytest.mark.urls(__name__)
def test_the_server_error_page_carries_both_policies_and_no_style_element():
    client = Client(raise_request_exception=False)
    response = client.get("/fail/")
    assert response.status_code == 500
    assert_policies(response)


def test_static_files_carry_the_policies_too(settings):
    settings.WHITENOISE_USE_FINDERS = True  # as in development; tests run with DEBUG off
    response = Client().get("/static/js/app.js")
    assert response.status_code == 200
    assert directives(response)["script-src"] == ["'self'"]
    assert "camera=()" in response.headers["Permissions-Policy"]


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))
)
def test_no_template_holds_inline_script_handlers_or_style_elements(template):
    checker = InlineCode()
    source = (TEMPLATES / template).read_text()
    checker.feed(DJANGO_COMMENT.sub("", source))
    assert checker.found == []


def test_pages_of_a_logged_in_user_are_never_stored_by_the_browser(clinic):
    """After logging out on a shared computer, "back" must not show a patient's card."""
    client = verified_client_for(clinic.doctor)
    for url in (f"/patients/{clinic.patient.pk}/timeline/", "/patients/", "/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store, private", url
