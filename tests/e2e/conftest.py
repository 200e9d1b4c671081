"""Browser tests: Debian's Chromium driven by Playwright against a live server."""

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself (creating users) are still ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian's chromium is not installed; `make test` installs it with apt.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# What Chromium says in the console when a policy refuses something ("Refused to execute
# inline script because it violates the following Content Security Policy directive…"),
# or when the Permissions-Policy header names a feature it doesn't know.
POLICY_COMPLAINT = re.compile(
    r"Content[- ]Security[- ]Policy|Refused to|Permissions[- ]Policy", re.IGNORECASE
)
# Reports every violation in the console as well, whatever Chromium itself prints (init
# scripts are run by the browser, outside the page's policy).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content-Security-Policy violation: ${event.effectiveDirective} `
    + `blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def page(browser, live_server):
    """A page of a fresh browser context. A test fails at teardown if any page of its
    context hit a Content-Security-Policy or Permissions-Policy complaint."""
    context = browser.new_context(
        base_url=live_server.url, locale="ru-RU", viewport={"width": 1280, "height": 860}
    )
    complaints: list[str] = []

    def note_complaint(message) -> None:
        if POLICY_COMPLAINT.search(message.text):
            complaints.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.add_init_script(REPORT_VIOLATIONS)
    context.on("console", note_complaint)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.policy_complaints = complaints
    page.live_url = live_server.url
    yield page
    context.close()
    if complaints:
        pytest.fail("The browser reported policy violations:\n" + "\n".join(complaints))


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, user) -> None:
    """Logs ``user`` in through the real pages: password, then a TOTP code."""
    from playwright.sync_api import expect

    from tests.conftest import PASSWORD, current_totp

    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/otp/"))
    page.fill("input[name=token]", current_totp(user.device, unused=True))
    page.locator("main form button[type=submit]").first.click()
    # The name shows on the second-factor page too: a refused code (e.g. one already used
    # in this 30-second window) must fail here, not pages later.
    expect(page).not_to_have_url(re.compile(r"/accounts/otp/"))
    expect(page.locator("[data-testid=current-user]")).to_be_visible()


def use_language(page, language: str) -> None:
    """Shows the app in ``language`` as the language switch would (its cookie)."""
    from django.conf import settings

    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": page.live_url}]
    )


def wait_for_value(page, script: str, *, timeout_ms: int = 15_000):
    """Polls ``script`` (a function expression) until it returns something truthy, and
    returns that; a script that throws meanwhile (the page not ready) is tried again.
    Polled from here because the pages' content security policy refuses the eval with
    which Playwright's `wait_for_function` polls once its first try fails."""
    from playwright.sync_api import Error

    last_error = None
    for _ in range(timeout_ms // 50):
        try:
            value = page.evaluate(script)
        except Error as exc:
            last_error, value = exc, None
        if value:
            return value
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout_ms} ms: {script} ({last_error})")


def zone_where_it_is_late_morning() -> str:
    """A fixed-offset zone in which it is 11:xx now, so that the test always has free time
    left today between the working hours 08:00–20:00, whenever it runs."""
    offset = 11 - datetime.now(UTC).hour  # -12 … +11
    if offset == 0:
        return "Etc/GMT"
    # POSIX-style names: Etc/GMT-3 is three hours *ahead* of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def serious_violations(page, context: str | None = None) -> list[str]:
    """axe-core's serious and critical findings on the page (or on the part ``context``
    selects), from the copy bundled with axe-playwright-python: nothing is downloaded."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
