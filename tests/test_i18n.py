"""Russian by default, English on request, and both catalogues complete."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def test_login_page_is_russian_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Вход" in response.content.decode()
    assert response["Content-Language"] == "ru"


def test_language_switch_to_english_sticks(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    page = client.get("/accounts/login/")
    assert page["Content-Language"] == "en"
    assert "Log in" in page.content.decode()


@pytest.mark.parametrize("language", ["ru", "en"])
def test_catalogue_has_no_untranslated_or_fuzzy_entries(language):
    po = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    for option in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(
            ["msgattrib", option, "--no-obsolete", str(po)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        entries = [block for block in out.split("\n\n") if "msgid" in block]
        # the header (msgid "") may appear; nothing else may
        real = [block for block in entries if 'msgid ""\nmsgstr ""\n"' not in block]
        assert not real, f"{language} {option}:\n" + "\n\n".join(real[:5])


def test_catalogue_covers_every_string_in_the_code(tmp_path):
    """makemessages on the current code finds no msgid missing from the Russian file."""
    import shutil

    work = tmp_path / "project"
    shutil.copytree(
        ROOT,
        work,
        ignore=shutil.ignore_patterns(
            ".venv", "node_modules", "var", ".git", "__pycache__", "tests", "bench"
        ),
    )
    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "manage.py",
            "makemessages",
            "-l",
            "ru",
            "--no-location",
            "--ignore=.venv/*",
            "--ignore=node_modules/*",
        ],
        cwd=work,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            "msgattrib",
            "--untranslated",
            "--no-obsolete",
            str(work / "locale" / "ru" / "LC_MESSAGES" / "django.po"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    missing = [b for b in out.split("\n\n") if "msgid" in b and 'msgid ""\nmsgstr ""\n"' not in b]
    assert not missing, "strings without a Russian translation:\n" + "\n\n".join(missing[:5])
