"""Kiosk mode: a manager registers a reception tablet (its pairing secret shown once, only
hashes stored), the tablet pairs with a cookie that opens the kiosk pages and nothing
else, patients open their survey by the code on their slip — at the tablet's branch only —
and answers sent again by the tablet's offline queue count once."""

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from clinic_crm.audit.models import AuditEvent
from clinic_crm.staff.roles import Role
from feedback.kiosk import (
    COOKIE_NAME,
    kiosk_code_for,
    kiosk_device_pair,
    kiosk_device_register,
)
from feedback.models import AttributeAnswer, Response, SurveyInvitation
from feedback.models_kiosk import KioskAnswerKey, KioskCode, KioskDevice
from tests.conftest import client_for
from tests.factories import BranchFactory, PatientFactory
from tests.feedback.factories import MORNING, complete

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'data-testid="kiosk-pairing-secret">([^<]+)<')


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def invitation(clinic, visit_survey, time_machine):
    time_machine.move_to(MORNING, tick=False)
    clinic.patient.first_name = "Анна"
    clinic.patient.last_name = "Короткова"
    clinic.patient.save()
    visit = complete(clinic)
    time_machine.move_to(MORNING + timedelta(hours=1), tick=False)
    return SurveyInvitation.objects.get(visit=visit)


def tablet_for(branch, manager, language: str = "en") -> tuple[Client, KioskDevice]:
    """A browser paired as a tablet of ``branch`` (through the pairing page)."""
    pairing = kiosk_device_register(actor=manager, name="Reception", branch=branch)
    client = Client()
    client.cookies["django_language"] = language
    paired = client.post(reverse("kiosk:pair"), {"secret": pairing.secret})
    assert paired.status_code == 303
    return client, KioskDevice.objects.get(pk=pairing.device.pk)


@pytest.fixture
def tablet(clinic):
    return tablet_for(clinic.branch, clinic.manager)


def answer(client, payload, **headers):
    return client.post(reverse("kiosk:answer"), payload, content_type="application/json", **headers)


# --- registering and pairing ---------------------------------------------------------------


def test_registering_shows_the_secret_once_and_stores_only_its_hash(clinic):
    manager = client_for(clinic.manager)
    page = manager.post(reverse("kiosk:devices"), {"name": "Reception", "branch": clinic.branch.pk})
    assert page.status_code == 200
    secret = SECRET.search(page.content.decode()).group(1)
    assert f"/kiosk/pair/#{secret}" in page.content.decode()  # never sent to a server
    device = KioskDevice.objects.get()
    assert device.pairing_hash == sha256(secret)
    stored = {f.name: str(getattr(device, f.attname)) for f in KioskDevice._meta.concrete_fields}
    assert not [name for name, value in stored.items() if secret in value]
    assert AuditEvent.objects.filter(
        action="create", object_type="feedback.KioskDevice", object_id=str(device.pk)
    ).exists()
    # Shown once: the list afterwards has the tablet, not its secret.
    again = manager.get(reverse("kiosk:devices"))
    assert "Reception" in again.content.decode()
    assert secret not in again.content.decode()
    assert 'data-testid="kiosk-pairing-secret"' not in again.content.decode()


def test_pairing_sets_a_strict_http_only_cookie_whose_value_is_stored_only_hashed(clinic):
    pairing = kiosk_device_register(actor=clinic.manager, name="Reception", branch=clinic.branch)
    browser = Client()
    assert browser.get(reverse("kiosk:pair")).status_code == 200  # a GET pairs nothing
    assert KioskDevice.objects.get().paired_at is None
    paired = browser.post(reverse("kiosk:pair"), {"secret": pairing.secret})
    assert paired.status_code == 303
    cookie = paired.cookies[COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/kiosk/"
    assert not cookie["secure"]  # plain HTTP in tests; Secure over HTTPS
    assert int(cookie["max-age"]) > 365 * 24 * 3600
    device = KioskDevice.objects.get()
    assert device.key_hash == sha256(cookie.value)
    assert cookie.value.startswith(device.key_prefix + ".")
    assert device.pairing_hash == ""
    assert browser.get(reverse("kiosk:start")).status_code == 200


def test_a_pairing_secret_works_once(clinic):
    pairing = kiosk_device_register(actor=clinic.manager, name="Reception", branch=clinic.branch)
    kiosk_device_pair(secret=pairing.secret)
    second = Client()
    second.cookies["django_language"] = "en"
    refused = second.post(reverse("kiosk:pair"), {"secret": pairing.secret})
    assert refused.status_code == 400
    assert "used already or has expired" in refused.content.decode()
    assert COOKIE_NAME not in refused.cookies


def test_only_managers_register_tablets(clinic):
    for user in (clinic.admin, clinic.doctor, clinic.curator):
        page = client_for(user).post(
            reverse("kiosk:devices"), {"name": "Mine", "branch": clinic.branch.pk}
        )
        assert page.status_code == 403
    assert not KioskDevice.objects.exists()


def test_a_browser_that_is_not_paired_is_told_so(client):
    page = client.get(reverse("kiosk:start"))
    assert page.status_code == 403
    assert 'data-testid="kiosk-unpaired"' in page.content.decode()
    client.cookies[COOKIE_NAME] = "abc.forged"
    assert client.get(reverse("kiosk:start")).status_code == 403


def test_a_revoked_tablet_gets_the_no_longer_registered_page(clinic, tablet, invitation):
    browser, device = tablet
    manager = client_for(clinic.manager)
    revoked = manager.post(reverse("kiosk:device_revoke", args=[device.pk]))
    assert revoked.status_code == 302
    page = browser.get(reverse("kiosk:start"))
    assert page.status_code == 403
    assert 'data-testid="kiosk-revoked"' in page.content.decode()
    assert "no longer registered" in page.content.decode()
    code = kiosk_code_for(invitation=invitation).code
    sent = answer(browser, {"key": str(uuid.uuid4()), "code": code, "step": "nps", "nps_score": 9})
    assert (sent.status_code, sent.json()["error"]) == (403, "revoked")
    assert not Response.objects.exists()
    assert AuditEvent.objects.filter(
        action="update", object_type="feedback.KioskDevice", details__revoked=True
    ).exists()


def test_a_new_pairing_link_retires_the_tablet_paired_before(clinic, tablet):
    browser, device = tablet
    page = client_for(clinic.manager).post(reverse("kiosk:device_pairing", args=[device.pk]))
    secret = SECRET.search(page.content.decode()).group(1)
    assert browser.get(reverse("kiosk:start")).status_code == 403
    replacement = Client()
    assert replacement.post(reverse("kiosk:pair"), {"secret": secret}).status_code == 303
    assert replacement.get(reverse("kiosk:start")).status_code == 200


# --- codes and the survey --------------------------------------------------------------------


def test_the_slip_code_opens_the_survey_greeting_by_first_name_only(tablet, invitation):
    browser, _device = tablet
    code = kiosk_code_for(invitation=invitation)
    assert re.fullmatch(r"\d{6}", code.code)
    assert kiosk_code_for(invitation=invitation) == code  # made once
    opened = browser.post(reverse("kiosk:start"), {"code": code.code})
    assert opened.status_code == 303
    assert opened["Location"] == reverse("kiosk:survey", args=[code.code])
    page = browser.get(opened["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    assert "Анна" in text
    assert "Короткова" not in text
    assert 'data-testid="nps-10"' in text
    assert 'name="attribute_communication"' in text
    assert page["Cache-Control"] == "no-store"
    invitation.refresh_from_db()
    assert invitation.opened_at is not None
    assert AuditEvent.objects.filter(
        action="read", patient_id=invitation.patient_id, details__via="kiosk"
    ).exists()


def test_a_wrong_code_is_refused_with_a_clear_message(tablet, invitation):
    browser, _device = tablet
    page = browser.post(reverse("kiosk:start"), {"code": "000000"})
    assert page.status_code == 404
    assert "We could not find this code" in page.content.decode()


def test_a_code_of_another_branchs_visit_is_refused_with_a_clear_message(
    clinic, invitation, make_staff
):
    elsewhere = BranchFactory(name="North")
    browser, _device = tablet_for(elsewhere, clinic.manager)
    code = kiosk_code_for(invitation=invitation).code
    page = browser.post(reverse("kiosk:start"), {"code": code})
    assert page.status_code == 403
    assert "another branch" in page.content.decode()
    assert "Анна" not in page.content.decode()
    assert browser.get(reverse("kiosk:survey", args=[code])).status_code == 403
    sent = answer(browser, {"key": str(uuid.uuid4()), "code": code, "step": "nps", "nps_score": 3})
    assert (sent.status_code, sent.json()["error"]) == (403, "other_branch")
    assert not Response.objects.exists()


def test_an_answered_survey_s_code_says_so(tablet, invitation):
    browser, _device = tablet
    code = kiosk_code_for(invitation=invitation).code
    SurveyInvitation.objects.filter(pk=invitation.pk).update(finished_at=MORNING)
    page = browser.post(reverse("kiosk:start"), {"code": code})
    assert page.status_code == 409
    assert "already been answered" in page.content.decode()


def test_many_wrong_codes_make_the_tablet_wait(tablet, invitation):
    browser, _device = tablet
    code = kiosk_code_for(invitation=invitation).code
    for n in range(20):
        browser.post(reverse("kiosk:start"), {"code": f"{n:06d}" if f"{n:06d}" != code else "x"})
    page = browser.post(reverse("kiosk:start"), {"code": code})
    assert page.status_code == 429


# --- answers ---------------------------------------------------------------------------------


def test_a_replayed_idempotency_key_counts_once(tablet, invitation):
    browser, _device = tablet
    code = kiosk_code_for(invitation=invitation).code
    score = {"key": str(uuid.uuid4()), "code": code, "step": "nps", "nps_score": 9}
    first = answer(browser, score)
    assert first.json() == {"status": "recorded", "finished": False}
    replay = answer(browser, {**score, "nps_score": 2})
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    details = {
        "key": str(uuid.uuid4()),
        "code": code,
        "step": "details",
        "answers": {"communication": 5, "waiting": 4},
        "comment": "Всё хорошо",
    }
    assert answer(browser, details).json() == {"status": "recorded", "finished": True}
    # The reply was lost and the queue sends both again, after the survey closed.
    assert answer(browser, details).json()["status"] == "duplicate"
    assert answer(browser, score).json()["status"] == "duplicate"
    response = Response.objects.get()
    assert (response.channel, response.nps_score, response.comment) == ("kiosk", 9, "Всё хорошо")
    assert AttributeAnswer.objects.count() == 2
    assert KioskAnswerKey.objects.count() == 2
    invitation.refresh_from_db()
    assert invitation.finished_at is not None
    assert AuditEvent.objects.filter(action="create", object_type="feedback.Response").count() == 2


def test_a_refused_answer_is_not_remembered_so_a_corrected_one_counts(tablet, invitation):
    browser, _device = tablet
    code = kiosk_code_for(invitation=invitation).code
    key = str(uuid.uuid4())
    refused = answer(browser, {"key": key, "code": code, "step": "nps", "nps_score": 11})
    assert refused.status_code == 400
    assert not KioskAnswerKey.objects.exists()
    assert answer(browser, {"key": key, "code": code, "step": "nps", "nps_score": 10}).json()[
        "status"
    ] == ("recorded")
    assert Response.objects.get().nps_score == 10


def test_what_was_answered_before_the_tablet_timed_out_is_kept_and_the_link_stays_open(
    tablet, invitation
):
    browser, _device = tablet
    code = kiosk_code_for(invitation=invitation).code
    answer(browser, {"key": str(uuid.uuid4()), "code": code, "step": "nps", "nps_score": 8})
    partial = answer(
        browser,
        {"key": str(uuid.uuid4()), "code": code, "step": "partial", "answers": {"waiting": 2}},
    )
    assert partial.json() == {"status": "recorded", "finished": False}
    response = Response.objects.get()
    assert list(response.answers.values_list("attribute__key", "score")) == [("waiting", 2)]
    assert response.negative
    invitation.refresh_from_db()
    assert invitation.finished_at is None


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        '{"key": "nope", "code": "123456", "step": "nps"}',
        f'{{"key": "{uuid.uuid4()}", "code": 123456, "step": "nps"}}',
        f'{{"key": "{uuid.uuid4()}", "code": "123456", "step": "drop"}}',
        f'{{"key": "{uuid.uuid4()}", "code": "123456", "step": "nps", "answers": [1]}}',
    ],
)
def test_malformed_answers_are_refused(tablet, invitation, payload):
    browser, _device = tablet
    sent = browser.post(reverse("kiosk:answer"), payload, content_type="application/json")
    assert sent.status_code == 400


def test_the_answer_endpoint_wants_the_csrf_token(clinic, invitation):
    pairing = kiosk_device_register(actor=clinic.manager, name="Reception", branch=clinic.branch)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(reverse("kiosk:pair"))
    token = str(page.context["csrf_token"])
    browser.post(reverse("kiosk:pair"), {"secret": pairing.secret, "csrfmiddlewaretoken": token})
    code = kiosk_code_for(invitation=invitation).code
    payload = {"key": str(uuid.uuid4()), "code": code, "step": "nps", "nps_score": 9}
    assert answer(browser, payload).status_code == 403
    assert not Response.objects.exists()
    start = browser.get(reverse("kiosk:start"))
    assert start.status_code == 200
    header = str(start.context["csrf_token"])
    assert answer(browser, payload, HTTP_X_CSRFTOKEN=header).status_code == 200
    assert Response.objects.get().channel == "kiosk"


def test_the_plain_forms_work_without_the_script(tablet, invitation):
    browser, _device = tablet
    code = kiosk_code_for(invitation=invitation).code
    url = reverse("kiosk:survey", args=[code])
    scored = browser.post(url, {"step": "nps", "nps_score": "3"})
    assert scored.status_code == 303
    done = browser.post(
        url, {"step": "details", "attribute_communication": "4", "attribute_waiting": "1"}
    )
    assert done.status_code == 200
    assert 'data-testid="kiosk-thanks-negative"' in done.content.decode()
    assert Response.objects.get().channel == "kiosk"


# --- what a tablet can't do ------------------------------------------------------------------


def test_a_tablet_cookie_opens_no_staff_page(tablet, clinic):
    browser, _device = tablet
    for path in ("/", "/patients/", reverse("kiosk:devices"), reverse("kiosk:visits"), "/admin/"):
        page = browser.get(path)
        assert page.status_code in (302, 403), path
        if page.status_code == 302:
            assert "/accounts/login/" in page["Location"] or "/admin/login/" in page["Location"]
    assert browser.get("/api/patients/").status_code in (403, 404)
    assert browser.post(reverse("kiosk:push"), {"visit": "1"}).status_code == 302


def test_hostile_input_is_escaped(clinic, visit_survey, time_machine):
    time_machine.move_to(MORNING, tick=False)
    patient = PatientFactory(home_branch=clinic.branch, first_name='<script>alert("x")</script>')
    visit = complete(clinic, patient=patient)
    invitation = SurveyInvitation.objects.get(visit=visit)
    manager = client_for(clinic.manager)
    manager.post(
        reverse("kiosk:devices"),
        {"name": "<img src=x onerror=alert(1)>", "branch": clinic.branch.pk},
    )
    listing = manager.get(reverse("kiosk:devices")).content.decode()
    assert "<img src=x" not in listing
    assert "&lt;img src=x" in listing
    browser, _device = tablet_for(clinic.branch, clinic.manager)
    code = kiosk_code_for(invitation=invitation).code
    page = browser.get(reverse("kiosk:survey", args=[code])).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    typed = browser.post(reverse("kiosk:start"), {"code": '"><b>1'}).content.decode()
    assert '"><b>1' not in typed


# --- the front desk: codes and "next patient" --------------------------------------------------


def test_the_front_desk_gets_a_slip_code_and_sends_next_patient_to_the_tablet(
    clinic, tablet, invitation
):
    browser, device = tablet
    desk = client_for(clinic.admin)
    listing = desk.get(reverse("kiosk:visits"))
    assert f'data-visit-id="{invitation.visit_id}"' in listing.content.decode()
    assert desk.post(reverse("kiosk:visit_code", args=[invitation.visit_id])).status_code == 302
    code = KioskCode.objects.get(invitation=invitation).code
    assert code in desk.get(reverse("kiosk:visits")).content.decode()
    assert browser.get(reverse("kiosk:current")).json() == {"url": None}
    pushed = desk.post(reverse("kiosk:push"), {"visit": invitation.visit_id})
    assert pushed.status_code == 302
    assert browser.get(reverse("kiosk:current")).json() == {
        "url": reverse("kiosk:survey", args=[code])
    }
    # Shown once: the next poll finds nothing.
    assert browser.get(reverse("kiosk:current")).json() == {"url": None}
    assert AuditEvent.objects.filter(
        object_type="feedback.SurveyInvitation", details__kiosk_push=True
    ).exists()


def test_next_patient_is_for_the_administrators_of_the_visits_branch(
    clinic, tablet, invitation, make_staff
):
    elsewhere = make_staff(Role.ADMINISTRATOR, branch=BranchFactory(name="North"))
    refused = client_for(elsewhere).post(reverse("kiosk:push"), {"visit": invitation.visit_id})
    assert refused.status_code in (403, 404)
    assert (
        client_for(clinic.doctor)
        .post(reverse("kiosk:push"), {"visit": invitation.visit_id})
        .status_code
        == 403
    )
    _browser, device = tablet
    device.refresh_from_db()
    assert device.current_invitation_id is None


def test_a_visit_not_completed_can_not_be_sent(clinic, tablet, visit_survey):
    from tests.journeys.factories import VisitFactory

    visit = VisitFactory(
        patient=clinic.patient, doctor=clinic.doctor, branch=clinic.branch, service=clinic.service
    )
    desk = client_for(clinic.admin)
    sent = desk.post(reverse("kiosk:push"), {"visit": visit.pk}, follow=True)
    assert "Only a completed visit" in sent.content.decode()


def test_managers_home_page_links_to_the_tablets(clinic):
    home = client_for(clinic.manager).get("/")
    assert reverse("kiosk:devices").encode() in home.content
