"""A new staff member enrols an authenticator, logs in with password + TOTP, and later
with a backup code; a password alone never reaches a staff page."""

import re
from pathlib import Path

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from clinic_crm.staff.roles import Role
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _code_from_secret(secret: str) -> str:
    from base64 import b32decode

    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def _password_step(page, email):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=re.compile("Продолжить|Continue")).click()


def test_new_staff_member_enrols_and_logs_in(page, make_staff, screenshot):
    user = make_staff(Role.CURATOR, with_device=False)

    # A password alone reaches no staff page.
    _password_step(page, user.email)
    expect(page).to_have_url(re.compile(r"/accounts/enrol/"))
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/accounts/enrol/"))
    screenshot("enrol")

    shown = page.get_by_test_id("totp-secret").inner_text().strip()
    groups = shown.split()
    assert len(groups) > 1, shown  # in groups of four, to be typed
    assert all(len(group) == 4 for group in groups[:-1]), shown
    secret = "".join(groups)
    page.fill("input[name=token]", _code_from_secret(secret))
    page.get_by_role("button", name=re.compile("Подтвердить|Confirm")).click()
    expect(page).to_have_url(re.compile(r"/accounts/backup-codes/"))
    codes = page.get_by_test_id("backup-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    screenshot("backup-codes")
    # print, copy, and download as a text file
    link = page.get_by_test_id("backup-codes-download")
    with page.expect_download() as download_info:
        link.click()
    saved = Path(download_info.value.path()).read_text()
    assert all(code in saved for code in codes), saved
    assert download_info.value.suggested_filename == "clinic-crm-backup-codes.txt"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name=re.compile("Копировать|Copy")).click()
    expect(page.get_by_role("button", name=re.compile("Скопировано|Copied"))).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name=re.compile("Печать|Print")).click()
    assert page.evaluate("window.printed") is True

    page.get_by_role("link", name=re.compile("сохранил|saved")).click()
    expect(page.get_by_test_id("home-heading")).to_have_text("Мой рабочий список")
    screenshot("home-curator")

    # Log out, then log in again: password, then a backup code (the TOTP code of this
    # 30-second step was already used, and is refused as a replay).
    page.get_by_role("button", name=re.compile("Выйти|Log out")).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    _password_step(page, user.email)
    expect(page).to_have_url(re.compile(r"/accounts/otp/"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/otp/"))
    page.fill("input[name=token]", "000000")
    page.get_by_role("button", name=re.compile("Проверить|Verify")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    screenshot("otp-wrong-code")

    page.wait_for_timeout(1100)  # the throttle after one wrong code is one second
    page.fill("input[name=token]", codes[0])
    page.get_by_role("button", name=re.compile("Проверить|Verify")).click()
    expect(page.get_by_test_id("home-heading")).to_have_text("Мой рабочий список")


def test_manager_sees_audit_log_of_the_login(page, make_staff, screenshot):
    from tests.conftest import current_totp

    manager = make_staff(Role.MANAGER)
    _password_step(page, manager.email)
    page.fill("input[name=token]", current_totp(manager.device))
    page.get_by_role("button", name=re.compile("Проверить|Verify")).click()
    expect(page.get_by_test_id("home-heading")).to_be_visible()
    screenshot("home-manager")
    page.get_by_role("link", name=re.compile("Журнал аудита")).first.click()
    expect(page.locator("#audit-rows")).to_contain_text(manager.email)
    page.select_option("select[name=action]", "otp_success")
    expect(page.locator("#audit-rows tbody tr")).to_have_count(1)
    screenshot("audit-log")
