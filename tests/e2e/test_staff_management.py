"""A manager adds a doctor from the Staff page; the doctor sets a password from the
emailed link, enrols an authenticator and lands on the home page; the manager
deactivates them and the doctor's open page is logged out at the next click."""

import re
from base64 import b32decode
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django_otp.oath import totp
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from tests.e2e.conftest import log_in, use_language
from tests.factories import BranchFactory, SpecialtyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Blue-lantern-orbit-77"


def _code_from_secret(secret: str) -> str:
    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def _link_from_email() -> str:
    (message,) = mail.outbox
    found = re.search(r"https?://\S+/accounts/invitation/\S+/", message.body)
    assert found, message.body
    return urlsplit(found.group(0)).path


def test_manager_adds_a_doctor_who_enrols_and_is_logged_out_when_deactivated(
    page, browser, make_staff, screenshot
):
    BranchFactory(name="Центральный")
    SpecialtyFactory(name="Ортодонтия")
    manager = make_staff(Role.MANAGER)
    log_in(page, manager)
    page.goto("/staff/")
    page.get_by_test_id("staff-add").click()
    page.fill("input[name=email]", "Doctor.New@clinic.test")
    page.fill("input[name=last_name]", "Петрова")
    page.fill("input[name=first_name]", "Анна")
    page.select_option("select[name=role]", Role.DOCTOR)
    page.select_option("select[name=branch]", label="Центральный")
    page.select_option("select[name=specialty]", label="Ортодонтия")
    screenshot("staff-add-ru-1280")
    page.get_by_role("button", name="Добавить и отправить приглашение").click()
    expect(page.get_by_role("alert").first).to_contain_text("doctor.new@clinic.test")
    row = page.locator("[data-testid=staff-row][data-email='doctor.new@clinic.test']")
    expect(row.get_by_test_id("staff-role")).to_have_text("Врач")
    expect(row.get_by_test_id("staff-status")).to_have_text("приглашён")

    # The doctor, in a browser of their own, follows the link from the email.
    doctor_context = browser.new_context(
        base_url=page.live_url, locale="ru-RU", viewport={"width": 1280, "height": 860}
    )
    doctor = doctor_context.new_page()
    doctor.set_default_timeout(15000)
    doctor.goto(_link_from_email())
    expect(doctor.get_by_role("heading", name="Задайте пароль")).to_be_visible()
    doctor.fill("input[name=new_password1]", NEW_PASSWORD)
    doctor.fill("input[name=new_password2]", NEW_PASSWORD)
    doctor.get_by_role("button", name="Задать пароль").click()
    expect(doctor).to_have_url(re.compile(r"/accounts/login/$"))
    expect(doctor.get_by_role("alert").first).to_contain_text("Пароль задан")

    doctor.fill("input[name=username]", "doctor.new@clinic.test")
    doctor.fill("input[name=password]", NEW_PASSWORD)
    doctor.get_by_role("button", name="Продолжить").click()
    expect(doctor).to_have_url(re.compile(r"/accounts/enrol/"))
    doctor.goto("/patients/")  # nothing before the second factor is set up
    expect(doctor).to_have_url(re.compile(r"/accounts/enrol/"))
    secret = "".join(doctor.get_by_test_id("totp-secret").inner_text().split())
    doctor.fill("input[name=token]", _code_from_secret(secret))
    doctor.get_by_role("button", name="Подтвердить").click()
    expect(doctor).to_have_url(re.compile(r"/accounts/backup-codes/"))
    doctor.get_by_role("link", name=re.compile("сохранил")).click()
    expect(doctor.get_by_test_id("home-heading")).to_be_visible()

    # The link has done its work: opened again, it says so.
    second = doctor_context.new_page()
    second.goto(_link_from_email())
    expect(second.get_by_test_id("invitation-reason")).to_contain_text("пароль уже задан")
    second.close()

    # The manager deactivates the doctor; the doctor's next click logs them out.
    page.goto("/staff/")
    row.get_by_role("link", name="Изменить").click()
    expect(page.get_by_test_id("staff-account")).to_contain_text("активен")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Отключить").click()
    expect(row.get_by_test_id("staff-status")).to_have_text("отключён")

    doctor.get_by_role("link", name=re.compile("Пациенты")).first.click()
    expect(doctor).to_have_url(re.compile(r"/accounts/login/\?next="))
    doctor_context.close()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_staff_pages_fit_a_laptop_and_a_phone(page, make_staff, screenshot, language):
    manager = make_staff(Role.MANAGER)
    BranchFactory(name="Северный филиал на Ленинградском проспекте")
    for role in (Role.DOCTOR, Role.CURATOR, Role.ADMINISTRATOR):
        make_staff(role)
    use_language(page, language)
    log_in(page, manager)
    member = make_staff(Role.DOCTOR)
    for width, height in ((1280, 860), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (
            ("list", "/staff/"),
            ("add", "/staff/add/"),
            ("edit", f"/staff/{member.pk}/"),
        ):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
            screenshot(f"staff-{name}-{language}-{width}")
    page.goto("/staff/")
    labels = page.get_by_test_id("staff-role").all_inner_texts()
    assert ("Врач" if language == "ru" else "Doctor") in " ".join(labels)
    assert not {"doctor", "curator", "administrator", "manager"} & set(" ".join(labels).split())
