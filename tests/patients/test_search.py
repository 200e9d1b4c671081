"""Search by name fragments, phone fragments and card number, served by trigram indexes."""

import pytest
from django.db import connection

from clinic_crm.db import owner_connection
from clinic_crm.staff.roles import Role
from demo.patients import patients_bulk_generate
from patients import selectors, services
from patients.selectors import patient_search
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def names(patients):
    return [p.full_name for p in patients]


def test_every_word_must_match_in_any_order_and_case():
    PatientFactory(last_name="Петров", first_name="Иван", middle_name="Сергеевич")
    PatientFactory(last_name="Петрова", first_name="Анна", middle_name="Ивановна")
    PatientFactory(last_name="Иванов", first_name="Пётр", middle_name="")
    PatientFactory(last_name="Сидоров", first_name="Олег", middle_name="")

    assert names(patient_search(query="петр ива")) == [
        "Иванов Пётр",
        "Петров Иван Сергеевич",
        "Петрова Анна Ивановна",
    ]
    assert names(patient_search(query="ПЕТРОВ  иван")) == [
        "Петров Иван Сергеевич",
        "Петрова Анна Ивановна",
    ]
    assert names(patient_search(query="серг петр")) == ["Петров Иван Сергеевич"]
    assert names(patient_search(query="олег сид")) == ["Сидоров Олег"]
    assert names(patient_search(query="нет-такого")) == []


def test_yo_and_ye_find_each_other():
    PatientFactory(last_name="Фёдоров", first_name="Семён", middle_name="")
    assert names(patient_search(query="федоров семен")) == ["Фёдоров Семён"]
    assert names(patient_search(query="ФЁДОР")) == ["Фёдоров Семён"]


def test_phone_fragment_finds_the_patient():
    PatientFactory(last_name="Звонов", phone="+79161234567")
    PatientFactory(last_name="Другой", phone="+79257654321")
    assert [p.last_name for p in patient_search(query="4567")] == ["Звонов"]
    assert [p.last_name for p in patient_search(query="916 123-45")] == ["Звонов"]
    assert [p.last_name for p in patient_search(query="8 916 123")] == ["Звонов"]
    assert [p.last_name for p in patient_search(query="+7 916 123 45 67")] == ["Звонов"]


def test_three_digits_are_not_a_phone_search():
    PatientFactory(phone="+79161234567")
    assert list(patient_search(query="916")) == []


def test_words_and_digits_together_must_both_match():
    PatientFactory(last_name="Звонов", phone="+79161234567")
    PatientFactory(last_name="Звонова", phone="+79160000000")
    assert [p.last_name for p in patient_search(query="звонов 4567")] == ["Звонов"]


def test_card_number_finds_the_card():
    patient = PatientFactory()
    assert list(patient_search(query=f"#{patient.pk}")) == [patient]
    assert patient in patient_search(query=str(patient.pk))


def test_hash_number_is_only_a_card_number_not_a_phone_fragment():
    patient = PatientFactory(phone="+79161234567")
    assert list(patient_search(query="#1234567")) == []
    assert list(patient_search(query="1234567")) == [patient]
    assert list(patient_search(query="#abc")) == []


def test_merged_cards_are_hidden(make_staff):
    kept = PatientFactory(last_name="Дубликатов", phone="+79161111111")
    merged = PatientFactory(last_name="Дубликатов", phone="+79162222222")
    services.patient_merge(actor=make_staff(Role.MANAGER), source=merged, target=kept)
    assert list(patient_search(query="дубликат")) == [kept]
    assert list(patient_search(query="2222222")) == []
    assert list(patient_search(query=f"#{merged.pk}")) == []
    assert merged not in patient_search()


def test_limit_and_order():
    for last_name in ["Яковлев", "Абрамов", "Миронов"]:
        PatientFactory(last_name=last_name, first_name="Олег")
    assert [p.last_name for p in patient_search(query="олег", limit=2)] == ["Абрамов", "Миронов"]


def test_bounded_search_lists_at_most_the_cap_in_name_order_and_says_more_matched():
    for last_name in ["Яковлев", "Абрамов", "Миронов", "Борисов"]:
        PatientFactory(last_name=last_name, first_name="Олег")
    PatientFactory(last_name="Сидоров", first_name="Иван")

    listed, truncated = selectors.patient_search_bounded(query="олег", cap=3)
    names_listed = [p.last_name for p in listed]
    assert truncated
    assert len(names_listed) == 3
    assert names_listed == sorted(names_listed)
    assert "Сидоров" not in names_listed

    listed, truncated = selectors.patient_search_bounded(query="олег", cap=4)
    assert not truncated
    assert [p.last_name for p in listed] == ["Абрамов", "Борисов", "Миронов", "Яковлев"]
    everyone, truncated = selectors.patient_search_bounded(query="", cap=1)
    assert not truncated
    assert everyone.count() == 5


def test_overlong_query_is_cut_not_refused():
    PatientFactory(last_name="Петров", first_name="Иван")
    assert len(patient_search(query="петров " * 100)) == 1


@pytest.fixture
def crowd(transactional_db):
    """5,000 generated patients plus a few known ones, with fresh statistics."""
    patients_bulk_generate(count=5000, seed=7, batch_size=1000)
    PatientFactory(last_name="Щукинский", first_name="Аркадий", phone="+79035550101")
    # Only the owner of a table may ANALYZE it (for anyone else PostgreSQL skips it with
    # a warning); a transactional test, so that the owner's connection sees the rows (and
    # the table holds only them: no dead rows of earlier tests that make a scan dearer).
    with owner_connection(), connection.cursor() as cursor:
        # Rows land in a GIN index's pending list until (auto)vacuum merges them; the
        # planner prices that list as a scan.
        for index in ["patient_search_name_trgm", "patient_phone_trgm"]:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cursor.execute("ANALYZE patients_patient")


def plan(queryset) -> str:
    """The plan PostgreSQL picks with its normal settings: with fresh statistics even
    5,000 rows are enough for it to prefer the trigram index over a scan (at 2,000 a
    phone search still scans the table). (An
    ``icontains`` would wrap the column in UPPER() and could not use the index at all.)"""
    return queryset.explain()


def test_name_search_uses_the_trigram_index(crowd):
    text = plan(patient_search(query="щукин арка", limit=51))
    assert "Bitmap Index Scan on patient_search_name_trgm" in text, text
    assert list(patient_search(query="щукин арка")) != []


def test_phone_search_uses_the_trigram_index(crowd):
    text = plan(patient_search(query="903 555-01", limit=51))
    assert "Bitmap Index Scan on patient_phone_trgm" in text, text


def test_duplicate_check_uses_indexes(crowd):
    patient = PatientFactory(phone="+79035550199")
    text = plan(selectors.likely_duplicates(patient=patient))
    assert "patient_phone" in text, text
    assert "patient_name_birth_ci" in text, text
