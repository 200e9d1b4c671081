"""Managers add staff (an emailed set-password link, then the usual forced enrolment),
change their role and workplace, and deactivate them (every session ends at once, their
open tasks go back to their branch). Every change is audited."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from clinic_crm.staff.services import StaffError
from clinic_crm.staff.services_members import Workplace, staff_deactivate, staff_update
from journeys.models import JourneyEvent, Task
from tests.conftest import current_totp, verified_client_for
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-lantern-orbit-77"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


@pytest.fixture
def manager_client(manager):
    return verified_client_for(manager)


def _doctor_form(**overrides) -> dict:
    data = {
        "email": "New.Doctor@Clinic.test",
        "last_name": "Petrova",
        "first_name": "Anna",
        "role": Role.DOCTOR,
        "branch": BranchFactory(name="Central").pk,
        "specialty": SpecialtyFactory(name="Orthodontics").pk,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _link_path(message) -> str:
    found = re.search(r"https?://\S+/accounts/invitation/\S+/", message.body)
    assert found, message.body
    return urlsplit(found.group(0)).path


def _changes(user, change: str):
    return AuditEvent.objects.filter(object_type="staff.User", object_id=str(user.pk)).filter(
        details__change=change
    )


# --- adding a member -----------------------------------------------------------------------


def test_added_doctor_sets_password_by_email_link_then_must_enrol_before_anything(
    manager_client, manager
):
    response = manager_client.post("/staff/add/", _doctor_form(), **EN)
    assert response.status_code == 302, response.content.decode()
    doctor = User.objects.get(email="new.doctor@clinic.test")  # stored in lower case
    assert doctor.role == Role.DOCTOR
    assert doctor.profile.specialty.name == "Orthodontics"
    assert not doctor.has_usable_password()  # the manager set no password
    page = manager_client.get(response["Location"], **EN).content.decode()
    assert "An invitation to set a password was sent to new.doctor@clinic.test" in page

    (message,) = mail.outbox
    assert message.to == ["new.doctor@clinic.test"]
    assert "set a password" in message.subject
    assert "Anna Petrova" in message.body
    assert "72 hours" in message.body

    member = Client()
    link = _link_path(message)
    opened = member.get(link, **EN)
    # The token leaves the URL (it goes into the session), so no Referer can leak it.
    assert opened.status_code == 302
    assert opened["Location"].endswith("/set-password/")
    form_page = member.get(opened["Location"], **EN)
    assert "Set your password" in form_page.content.decode()
    too_short = member.post(
        opened["Location"], {"new_password1": "short", "new_password2": "short"}, **EN
    )
    assert "too short" in too_short.content.decode()
    done = member.post(
        opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, **EN
    )
    assert done.status_code == 302
    assert done["Location"] == "/accounts/login/"
    doctor.refresh_from_db()
    assert doctor.check_password(NEW_PASSWORD)

    # The password alone opens nothing: enrolment first.
    login = member.post(
        "/accounts/login/", {"username": "New.Doctor@clinic.test", "password": NEW_PASSWORD}
    )
    assert login["Location"] == "/accounts/enrol/"
    assert member.get("/patients/")["Location"].startswith("/accounts/otp/")
    assert member.get("/accounts/otp/")["Location"] == "/accounts/enrol/"
    assert member.get("/accounts/enrol/").status_code == 200
    device = TOTPDevice.objects.get(user=doctor, confirmed=False)
    assert member.post("/accounts/enrol/", {"token": current_totp(device)}).status_code == 302
    assert member.get("/", **EN).status_code == 200

    invited = _changes(doctor, "staff_invited").get()
    assert invited.action == AuditAction.CREATE
    assert invited.actor == manager
    assert invited.details["role"] == Role.DOCTOR
    assert invited.details["language"] == "en"
    assert _changes(doctor, "password_set").get().actor == doctor


def test_the_invitation_is_in_the_managers_language_russian_by_default(manager_client):
    manager_client.post("/staff/add/", _doctor_form(), **RU)
    manager_client.post("/staff/add/", _doctor_form(email="second@clinic.test"), **EN)
    russian, english = mail.outbox
    assert "Задайте пароль" in russian.body
    assert "Set your password" not in russian.body
    assert "72 часа" in russian.body
    assert "Set your password with this link" in english.body


def test_a_used_link_says_so_and_an_expired_one_asks_for_a_new_invitation(manager_client):
    manager_client.post("/staff/add/", _doctor_form())
    link = _link_path(mail.outbox[0])
    member = Client()
    opened = member.get(link)["Location"]
    member.post(opened, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = Client().get(link, **EN).content.decode()
    assert "This link no longer works" in again
    assert "The password was already set with this link" in again

    manager_client.post("/staff/add/", _doctor_form(email="late@clinic.test"))
    late_link = _link_path(mail.outbox[1])
    with time_machine.travel(timezone.now() + timedelta(days=4)):  # links last 3 days
        expired = Client().get(late_link, **EN).content.decode()
    assert "The link has expired" in expired
    assert "Ask a manager to resend the invitation" in expired
    assert 'name="new_password1"' not in expired


def test_resending_sends_a_new_link_and_the_old_one_stops_working(manager_client, manager):
    manager_client.post("/staff/add/", _doctor_form())
    doctor = User.objects.get(email="new.doctor@clinic.test")
    old_link = _link_path(mail.outbox[0])
    response = manager_client.post(f"/staff/{doctor.pk}/resend-invitation/", **EN)
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    new_link = _link_path(mail.outbox[1])
    assert new_link != old_link
    assert "expired or was replaced" in Client().get(old_link, **EN).content.decode()
    assert Client().get(new_link).status_code == 302  # valid: on to the password form
    assert _changes(doctor, "invitation_resent").get().actor == manager

    # Once the password is set there is nothing to resend.
    doctor.set_password(NEW_PASSWORD)
    doctor.save()
    manager_client.post(f"/staff/{doctor.pk}/resend-invitation/")
    assert len(mail.outbox) == 2


def test_a_duplicate_email_in_any_case_is_refused_and_nothing_is_written(
    manager_client, make_staff
):
    make_staff(Role.CURATOR, email="taken@clinic.test")
    before = User.objects.count()
    response = manager_client.post("/staff/add/", _doctor_form(email=" TAKEN@Clinic.Test "), **EN)
    assert response.status_code == 400
    assert "A staff member with email taken@clinic.test already exists." in (
        response.content.decode()
    )
    assert User.objects.count() == before
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"specialty": ""}, "specialty", "Choose the doctor&#x27;s specialty."),
        ({"role": Role.CURATOR}, "specialty", "Only doctors have a specialty"),
        ({"role": Role.CURATOR, "specialty": "", "branch": ""}, "branch", "Choose the branch"),
        (
            {"role": Role.CURATOR, "specialty": "", "all_branches": "on"},
            None,  # a checkbox: its message stands under it
            "Only administrators can work for every branch.",
        ),
        ({"role": "superuser"}, "role", "Select a valid choice."),
        ({"last_name": "", "first_name": ""}, "last_name", "Enter the member&#x27;s name."),
    ],
)
def test_role_and_specialty_are_checked_against_each_other(
    manager_client, overrides, field, message
):
    response = manager_client.post("/staff/add/", _doctor_form(**overrides), **EN)
    assert response.status_code == 400
    body = response.content.decode()
    if field:
        assert f'data-field-error="{field}"' in body
    assert message in body
    assert not User.objects.filter(email="new.doctor@clinic.test").exists()
    assert mail.outbox == []


def test_administrators_may_work_for_every_branch_and_managers_need_no_branch(manager_client):
    admin = _doctor_form(
        email="desk@clinic.test", role=Role.ADMINISTRATOR, specialty="", branch="", all_branches=1
    )
    assert manager_client.post("/staff/add/", admin).status_code == 302
    assert User.objects.get(email="desk@clinic.test").profile.all_branches
    boss = _doctor_form(email="boss@clinic.test", role=Role.MANAGER, specialty="", branch="")
    assert manager_client.post("/staff/add/", boss).status_code == 302
    assert User.objects.get(email="boss@clinic.test").is_staff  # managers open the admin


@pytest.mark.parametrize(
    "hostile",
    [
        {"email": "evil@clinic.test\r\nBcc: all@clinic.test"},
        {"email": "x" * 250 + "@clinic.test"},
        {"last_name": "Petrova\x1b[31m"},
        {"first_name": "A\x00nna"},
        {"last_name": "P" * 151},
        {"branch": "999999"},
        {"specialty": "not-a-number"},
        {"role": ["doctor", "manager"]},
    ],
)
def test_hostile_input_is_refused_with_a_message(manager_client, hostile):
    response = manager_client.post("/staff/add/", _doctor_form(**hostile), **EN)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert User.objects.filter(profile__specialty__name="Orthodontics").count() == 0
    assert mail.outbox == []


def test_a_mail_server_failure_saves_nothing_and_says_so(manager_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = manager_client.post("/staff/add/", _doctor_form(), **EN)
    assert response.status_code == 400
    assert "The invitation email could not be sent" in response.content.decode()
    assert not User.objects.filter(email="new.doctor@clinic.test").exists()


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.CURATOR, Role.ADMINISTRATOR])
def test_other_roles_can_neither_see_nor_change_staff(make_staff, role):
    someone = make_staff(role)
    client = verified_client_for(someone)
    target = make_staff(Role.DOCTOR)
    assert client.get("/staff/").status_code == 403
    assert client.get("/staff/add/").status_code == 403
    assert client.post("/staff/add/", _doctor_form()).status_code == 403
    assert client.get(f"/staff/{target.pk}/").status_code == 403
    for action in ("deactivate", "reactivate", "resend-invitation"):
        assert client.post(f"/staff/{target.pk}/{action}/").status_code == 403
    target.refresh_from_db()
    assert target.is_active
    assert mail.outbox == []


def test_unknown_members_answer_404_and_actions_take_only_posts(manager_client):
    assert manager_client.get("/staff/999999/").status_code == 404
    assert manager_client.post("/staff/999999/deactivate/").status_code == 404
    assert manager_client.get("/staff/999999/deactivate/").status_code == 405
    assert manager_client.get("/staff/?page=999").status_code == 404


def test_a_password_only_session_reaches_no_staff_page(make_staff):
    from tests.conftest import password_only_client_for

    manager = make_staff(Role.MANAGER)
    client = password_only_client_for(manager)
    assert client.get("/staff/add/")["Location"].startswith("/accounts/otp/")


# --- changes -----------------------------------------------------------------------------------


def test_changing_a_role_takes_effect_at_the_members_next_request_and_is_audited(
    manager_client, manager, make_staff
):
    doctor = make_staff(Role.DOCTOR)
    doctor_client = verified_client_for(doctor)
    assert doctor_client.get("/worklist/").status_code == 403  # curators' and managers'
    north = BranchFactory(name="North")
    response = manager_client.post(
        f"/staff/{doctor.pk}/",
        {"last_name": "Ivanova", "first_name": "Test", "role": Role.CURATOR, "branch": north.pk},
    )
    assert response.status_code == 302
    doctor.refresh_from_db()
    assert doctor.role == Role.CURATOR
    assert doctor.profile.branch == north
    assert doctor_client.get("/worklist/").status_code == 200  # a curator's page, at once
    change = _changes(doctor, "staff_changed").get()
    assert change.actor == manager
    assert change.details["fields"]["role"] == [Role.DOCTOR, Role.CURATOR]
    assert change.details["fields"]["last_name"] == ["Doctor", "Ivanova"]
    assert change.ip_address == "127.0.0.1"


def test_a_manager_changes_neither_their_own_role_nor_deactivates_themselves(
    manager_client, manager
):
    response = manager_client.post(
        f"/staff/{manager.pk}/",
        {"last_name": "Manager", "first_name": "Test", "role": Role.DOCTOR},
        **EN,
    )
    assert response.status_code == 400
    assert "You can&#x27;t change your own role" in response.content.decode()
    response = manager_client.post(f"/staff/{manager.pk}/deactivate/", follow=True, **EN)
    assert "You can&#x27;t deactivate yourself" in response.content.decode()
    manager.refresh_from_db()
    assert manager.is_active
    assert manager.role == Role.MANAGER
    # A manager may still correct their own name.
    manager_client.post(
        f"/staff/{manager.pk}/",
        {"last_name": "Sokolova", "first_name": "Test", "role": Role.MANAGER},
    )
    manager.refresh_from_db()
    assert manager.last_name == "Sokolova"


def test_two_managers_demoting_each_other_at_once_leave_the_clinic_a_manager(make_staff):
    """The last active manager is protected: of two managers acting on each other at the
    same moment, the second finds it is no longer a manager (the first change holds the
    managers' lock and has committed) and is refused."""
    first, second = make_staff(Role.MANAGER), make_staff(Role.MANAGER)
    stale_second = User.objects.get(pk=second.pk)  # loaded before the first change lands
    stale_second.roles  # noqa: B018 - its roles are cached as they were
    staff_update(
        request=None,
        actor=first,
        user=second,
        first_name="Test",
        last_name="Manager",
        workplace=Workplace(role=Role.CURATOR, branch=BranchFactory(name="Main")),
    )
    with pytest.raises(StaffError, match="Only managers can manage staff"):
        staff_deactivate(request=None, actor=stale_second, user=first)
    first.refresh_from_db()
    assert first.is_active
    assert first.role == Role.MANAGER


# --- deactivation ------------------------------------------------------------------------------


def test_deactivating_ends_every_session_of_the_member_at_once(manager_client, make_staff):
    doctor = make_staff(Role.DOCTOR)
    laptop, phone = verified_client_for(doctor), verified_client_for(doctor)
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 200
    before = Session.objects.count()

    response = manager_client.post(f"/staff/{doctor.pk}/deactivate/", **EN)
    assert response.status_code == 302
    assert Session.objects.count() == before - 2  # the manager's own session lives on
    doctor.refresh_from_db()
    assert not doctor.is_active
    for browser in (laptop, phone):
        after = browser.get("/patients/")
        assert after.status_code == 302
        assert after["Location"].startswith("/accounts/login/")
    assert manager_client.get("/staff/").status_code == 200
    # And the password no longer logs in.
    login = Client().post(
        "/accounts/login/", {"username": doctor.email, "password": "Correct-horse-battery-42"}
    )
    assert login.status_code == 200
    event = _changes(doctor, "staff_deactivated").get()
    assert event.details["sessions_ended"] == 2


def test_deactivating_a_curator_gives_their_open_tasks_back_to_their_branch(
    manager_client, manager, make_staff
):
    curator = make_staff(Role.CURATOR)
    patient = PatientFactory()
    open_task, done_task = (
        Task.objects.create(
            kind=Task.Kind.STALLED_JOURNEY,
            patient=patient,
            cause_key=f"test:{state}",
            title="Call the patient",
            due_at=timezone.now() + timedelta(hours=2),
            assignee=curator,
            state=state,
            branch=curator.profile.branch,
        )
        for state in (Task.State.OPEN, Task.State.DONE)
    )
    manager_client.post(f"/staff/{curator.pk}/deactivate/")
    open_task.refresh_from_db()
    done_task.refresh_from_db()
    assert open_task.assignee is None
    assert open_task.branch == curator.profile.branch
    assert done_task.assignee == curator  # history stays as it was
    event = JourneyEvent.objects.get(kind=JourneyEvent.Kind.TASK, data__action="released")
    assert event.actor == manager
    assert event.data["task"] == open_task.pk
    assert _changes(curator, "staff_deactivated").get().details["released"] == {
        "journeys_tasks_released": 1
    }
    from django.utils import translation

    with translation.override("en"):
        assert "Test Curator was deactivated" in event.display_summary
    with translation.override("ru"):
        assert "Test Curator" in event.display_summary
        assert "деактивирован" in event.display_summary


def test_a_reactivated_member_logs_in_again_with_both_factors(manager_client, make_staff):
    from tests.conftest import PASSWORD

    doctor = make_staff(Role.DOCTOR)
    manager_client.post(f"/staff/{doctor.pk}/deactivate/")
    response = manager_client.post(f"/staff/{doctor.pk}/reactivate/")
    assert response.status_code == 302
    client = Client()
    login = client.post("/accounts/login/", {"username": doctor.email, "password": PASSWORD})
    assert login["Location"] == "/accounts/otp/"
    assert _changes(doctor, "staff_reactivated").count() == 1


# --- the list ----------------------------------------------------------------------------------


def test_the_staff_page_names_roles_in_the_readers_language(manager_client, make_staff):
    from django.utils import translation

    make_staff(Role.DOCTOR)
    make_staff(Role.ADMINISTRATOR)
    roles = re.compile(r'data-testid="staff-role">(.*?)</td>', re.S)
    for language, headers in (("ru", RU), ("en", EN)):
        page = manager_client.get("/staff/", **headers).content.decode()
        shown = re.findall(r'<span class="badge[^"]*">([^<]+)</span>', "".join(roles.findall(page)))
        with translation.override(language):
            expected = {str(Role(code).label) for code in (Role.DOCTOR, Role.ADMINISTRATOR)}
            expected.add(str(Role.MANAGER.label))  # the manager reading the page
        assert set(shown) == expected
        assert not set(shown) & set(Role.values), shown  # no raw codes
        assert ("Врач" if language == "ru" else "Doctor") in shown
    assert "Добавить сотрудника" in manager_client.get("/staff/", **RU).content.decode()


def test_the_list_filters_by_role_branch_status_and_name(manager_client, make_staff):
    north = BranchFactory(name="North")
    doctor = make_staff(Role.DOCTOR, branch=north, email="north.doctor@clinic.test")
    make_staff(Role.CURATOR, email="main.curator@clinic.test")
    gone = make_staff(Role.CURATOR, email="gone@clinic.test")
    manager_client.post(f"/staff/{gone.pk}/deactivate/")
    manager_client.post("/staff/add/", _doctor_form(email="invited@clinic.test"))

    def emails(**params) -> set[str]:
        body = manager_client.get("/staff/", params).content.decode()
        return set(re.findall(r'data-testid="staff-row" data-email="([^"]+)"', body))

    assert emails(role=Role.DOCTOR) == {"north.doctor@clinic.test", "invited@clinic.test"}
    assert emails(branch=north.pk) == {doctor.email}
    assert emails(status="inactive") == {"gone@clinic.test"}
    assert emails(status="invited") == {"invited@clinic.test"}
    assert emails(q="MAIN.cur") == {"main.curator@clinic.test"}
    assert "gone@clinic.test" not in emails(status="active")
    assert emails(role="nonsense") >= {"gone@clinic.test"}  # a bad filter is ignored
    rows = manager_client.get("/staff/", {"role": Role.DOCTOR}, HTTP_HX_REQUEST="true")
    assert "<html" not in rows.content.decode()
    assert "north.doctor" in rows.content.decode()


def test_the_list_costs_the_same_queries_for_many_members(
    manager_client, make_staff, django_assert_max_num_queries
):
    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get("/staff/").status_code == 200
        return len(captured)

    for role in (Role.DOCTOR, Role.CURATOR):
        make_staff(role)
    few = queries()
    for _ in range(15):
        make_staff(Role.DOCTOR)
    with django_assert_max_num_queries(few):
        manager_client.get("/staff/")
