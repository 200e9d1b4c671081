"""The reason tags as the tagger's keywords (feedback.reason_tags): the migration that
gave them the tagger's syntax without overwriting a manager's edit, the tags read from
the database and cached for a few seconds, and the admin refusing a line the tagger
would misread."""

from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from feedback import reason_tags
from feedback.admin import ReasonTagAdmin, ReasonTagForm
from feedback.defaults import defaults_create
from feedback.models import CsiAttribute, ReasonTag, Survey
from feedback.reason_lexicon import LEXICON
from feedback.reasons import complaint_reasons
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

migration = import_module("feedback.migrations.0006_reason_lexicon_keywords")


@pytest.fixture(autouse=True)
def tags():
    """The nine tags as the migrations leave them, written again where a transactional
    test flushed the database (the defaults are the same keywords)."""
    if not ReasonTag.objects.exists():
        defaults_create(CsiAttribute, Survey, ReasonTag)
    reason_tags.forget()


def _keywords(key: str) -> list[str]:
    return ReasonTag.objects.get(key=key).keyword_lines()


# --- the migration ------------------------------------------------------------------------


def test_the_migration_replaces_the_old_stems_and_keeps_a_managers_keywords():
    ReasonTag.objects.filter(key="waiting").update(keywords=migration.OLD_KEYWORDS["waiting"])
    # Saved unchanged from the admin's text box: the browser's line ends, a blank line.
    pain = migration.OLD_KEYWORDS["pain"].replace("\n", "\r\n") + "\r\n\r\n"
    ReasonTag.objects.filter(key="pain").update(keywords=pain)
    edited = "дорог\nцен\nпереплат"
    ReasonTag.objects.filter(key="price").update(keywords=edited)

    migration.lexicon_keywords(apps, None)

    assert _keywords("waiting") == migration.KEYWORDS["waiting"]
    assert _keywords("pain") == migration.KEYWORDS["pain"]
    assert ReasonTag.objects.get(key="price").keywords == edited


def test_the_migration_adds_the_missing_reasons_once():
    ReasonTag.objects.filter(key__in=["documents", "results"]).delete()

    migration.lexicon_keywords(apps, None)
    migration.lexicon_keywords(apps, None)

    documents = ReasonTag.objects.get(key="documents")
    results = ReasonTag.objects.get(key="results")
    assert (documents.name, documents.name_en) == (
        "Ошибки в документах",
        "Errors in documents, lost results",
    )
    assert (results.name, results.name_en) == (
        "Лечение не помогло",
        "Treatment did not help or differs from what was promised",
    )
    assert documents.keyword_lines() == migration.KEYWORDS["documents"]
    assert documents.is_active
    assert results.is_active
    assert ReasonTag.objects.count() == 9


def test_the_migration_leaves_a_reason_a_manager_deactivated_or_renamed_as_it_is():
    ReasonTag.objects.filter(key="booking").update(is_active=False, name="Регистратура")
    migration.lexicon_keywords(apps, None)
    booking = ReasonTag.objects.get(key="booking")
    assert (booking.is_active, booking.name) == (False, "Регистратура")


def test_a_new_installation_starts_with_the_nine_reasons_in_the_taggers_syntax():
    ReasonTag.objects.all().delete()
    defaults_create(CsiAttribute, Survey, ReasonTag)
    assert {tag.key: tag.keyword_lines() for tag in ReasonTag.objects.all()} == {
        key: [line.strip() for line in lines] for key, lines in LEXICON.items()
    }


# --- the database as the tagger's source ----------------------------------------------------


def test_the_tagger_reads_the_active_tags_in_the_order_they_were_made():
    version, lexicon = reason_tags.clinic_lexicon()
    assert list(lexicon) == list(LEXICON)
    ReasonTag.objects.filter(key="pain").update(is_active=False)
    reason_tags.forget()
    assert "pain" not in reason_tags.clinic_lexicon()[1]
    assert complaint_reasons("Было очень больно и долго ждала") == ["waiting"]


def test_a_managers_edit_changes_what_the_tagger_finds_at_once_in_that_process():
    assert complaint_reasons("Парковка платная, негде встать") == []
    price = ReasonTag.objects.get(key="price")
    price.keywords += "\nпарковка>платный|негде"
    price.save()
    assert complaint_reasons("Парковка платная, негде встать") == ["price"]
    price.delete()
    assert complaint_reasons("Парковка платная, и дорого") == []


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(reason_tags, "monotonic", lambda: now[0])
    return now


def test_another_processs_edit_is_seen_within_the_check_interval(clock, django_assert_num_queries):
    assert complaint_reasons("Парковка платная") == []
    # Another process saved the tag: no signal here, only its new time in the database.
    price = ReasonTag.objects.get(key="price")
    ReasonTag.objects.filter(pk=price.pk).update(
        keywords=price.keywords + "\nпарковка>платный", updated_at=timezone.now()
    )
    clock[0] += reason_tags.CHECK_SECONDS / 2
    with django_assert_num_queries(0):  # within the interval: nothing asked
        assert complaint_reasons("Парковка платная") == []
    clock[0] += reason_tags.CHECK_SECONDS
    assert complaint_reasons("Парковка платная") == ["price"]


def test_an_unchanged_lexicon_costs_one_small_query_per_interval(clock, django_assert_num_queries):
    complaint_reasons("долго ждала")
    clock[0] += reason_tags.CHECK_SECONDS + 1
    with django_assert_num_queries(1):
        assert complaint_reasons("долго ждала") == ["waiting"]


def test_a_comment_maps_to_the_active_tags_in_one_query(django_assert_num_queries):
    complaint_reasons("прогрев")  # the keywords are read and cached
    with django_assert_num_queries(1):
        tags = reason_tags.comment_reason_tags("Долго ждала, и дорого")
    assert [tag.key for tag in tags] == ["waiting", "price"]
    with django_assert_num_queries(0):
        assert reason_tags.comment_reason_tags("Всё понравилось") == []


# --- the admin's check of the keywords ------------------------------------------------------


def _form(keywords: str, key: str = "parking") -> ReasonTagForm:
    return ReasonTagForm(
        data={"key": key, "name": "Парковка", "name_en": "Parking", "keywords": keywords}
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("a>", "a word is missing after “>”"),
        ("цена>высокий|", "a word is missing after “>”"),
        ("+x", "a word is missing before or after “+”"),
        ("потерять++анализ", "a word is missing before or after “+”"),
        ("!", "a word must follow “!”"),
        ("ждать!", "“!” goes only at the start"),
        (">высокий", "the line must start with a word"),
        ("wait~", "a word is missing after “~”"),
        ("wait~room>area", "put “>” before “~”"),
        ("цена>высокий>очень", "may each be used once"),
        ("ждать|сидеть", "“|” separates the words after “>” or “~”"),
        ("цена>высокий+очень", "“+” joins words only before"),
        ("долго ждать", "each keyword is a single word"),
        ("кое-как", "each keyword is a single word"),
        ("ждать1", "use only Russian or English letters"),
        ("<script>", "use only Russian or English letters"),
        ("café", "use only Russian or English letters"),
    ],
)
def test_a_line_the_tagger_would_misread_is_refused_naming_the_line(line, problem):
    form = _form(f"ждать\n{line}\nцена>высокий")
    assert not form.is_valid()
    [error] = form.errors["keywords"]
    assert error.startswith(f"Line 2, “{line}”: ")
    assert problem in error


def test_every_bad_line_is_named_and_good_ones_pass():
    form = _form("ждать\n\n a> \n!помочь\n+x\n  wait~room|area  \nпотерять+анализ")
    assert not form.is_valid()
    assert [e.split(":")[0] for e in form.errors["keywords"]] == ["Line 3, “a>”", "Line 5, “+x”"]
    good = _form("ждать\n\n! помочь\nцена > высокий | завышенный\nwait ~ room\nПотерять+Анализ")
    assert good.is_valid(), good.errors
    assert complaint_reasons("Цены высокие", {"parking": good.cleaned_data["keywords"].split("\n")})


def test_the_starting_keywords_pass_the_check():
    for key, lines in LEXICON.items():
        assert reason_tags.keyword_problems(lines) == [], key


def test_the_admin_shows_the_syntax_and_refuses_a_bad_line(manager):
    assert ReasonTagAdmin.form is ReasonTagForm
    tag = ReasonTag.objects.get(key="waiting")
    url = f"/admin/feedback/reasontag/{tag.pk}/change/"
    client = client_for(manager)
    page = client.get(url).content.decode()
    assert "<code>потерять+анализ</code>" in page
    assert "within five words" in page
    answer = client.post(
        url,
        {
            "key": tag.key,
            "name": tag.name,
            "name_en": tag.name_en,
            "keywords": "ждать\nочередь>",
            "is_active": "on",
        },
    )
    assert answer.status_code == 200
    assert "Line 2, “очередь&gt;”: a word is missing after “&gt;”" in answer.content.decode()
    assert ReasonTag.objects.get(pk=tag.pk).keywords == tag.keywords
