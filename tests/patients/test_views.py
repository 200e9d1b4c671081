"""The patient pages: who may do what, what they see, and what is audited."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from patients import selectors, services
from patients.models import ConsentRecord, Patient
from tests.patients.factories import (
    BranchFactory,
    ConsentRecordFactory,
    FamilyGroupFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

FORM = {
    "last_name": "Новикова",
    "first_name": "Мария",
    "middle_name": "Олеговна",
    "birth_date": "1990-03-14",
    "phone": "8 916 765-43-21",
    "email": "",
    "preferred_channel": "sms",
    "preferred_language": "ru",
    "time_zone": "Europe/Moscow",
    "telegram_chat_id": "",
    "source": "website",
    "referred_by": "",
    "home_branch": "",
}


def english(client):
    client.cookies["django_language"] = "en"
    return client


# --- create ----------------------------------------------------------------------------


def test_administrator_creates_a_patient(staff_client):
    client, admin = staff_client(Role.ADMINISTRATOR)
    response = client.post("/patients/new/", FORM)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/"
    assert patient.phone == "+79167654321"
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, actor=admin, patient_id=patient.pk
    ).exists()


def test_bad_phone_shows_the_message_and_creates_nothing(staff_client):
    client, _admin = staff_client(Role.CURATOR)
    response = english(client).post("/patients/new/", {**FORM, "phone": "12-34-5"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "“12-34-5” is not a phone number" in page
    assert 'data-field-error="phone"' in page
    assert 'value="Новикова"' in page  # what was typed is kept
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CREATE).exists()


def test_duplicate_is_flagged_before_creating_and_can_be_overridden(staff_client):
    client, _admin = staff_client(Role.ADMINISTRATOR)
    existing = PatientFactory(phone="+79167654321")

    warned = english(client).post("/patients/new/", FORM)

    assert warned.status_code == 200
    page = warned.content.decode()
    assert 'data-testid="duplicate-warning"' in page
    assert f'href="/patients/{existing.pk}/"' in page
    assert "create anyway" in page
    assert Patient.objects.count() == 1

    created = client.post("/patients/new/", {**FORM, "confirm_duplicates": "1"}, follow=True)

    assert Patient.objects.count() == 2
    new = Patient.objects.exclude(pk=existing.pk).get()
    assert created.redirect_chain[-1][0] == f"/patients/{new.pk}/"
    assert "Possible duplicate of" in created.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.CREATE)
    assert event.details == {"possible_duplicates": [existing.pk]}


def test_same_name_and_birth_date_is_flagged(staff_client):
    client, _admin = staff_client(Role.ADMINISTRATOR)
    PatientFactory(last_name="НОВИКОВА", first_name="мария", birth_date="1990-03-14")
    response = client.post("/patients/new/", {**FORM, "phone": ""})
    assert 'data-testid="duplicate-warning"' in response.content.decode()
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.MANAGER])
def test_doctors_and_managers_cannot_create(staff_client, role):
    client, _user = staff_client(role)
    assert client.get("/patients/new/").status_code == 403
    assert client.post("/patients/new/", FORM).status_code == 403
    assert not Patient.objects.exists()


def test_list_offers_new_patient_only_to_those_who_may_create(staff_client):
    admin_client, _admin = staff_client(Role.ADMINISTRATOR)
    doctor_client, _doctor = staff_client(Role.DOCTOR)
    assert 'href="/patients/new/"' in admin_client.get("/patients/").content.decode()
    assert 'href="/patients/new/"' not in doctor_client.get("/patients/").content.decode()


# --- read --------------------------------------------------------------------------------


def test_reading_the_card_writes_an_audit_row_and_shows_the_card(staff_client):
    client, doctor = staff_client(Role.DOCTOR)
    referrer = PatientFactory()
    patient = PatientFactory(phone="+79161234567", referred_by=referrer, source="referral")
    ConsentRecordFactory(patient=patient, kind="reminders", channel="sms", granted=True)
    response = client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert patient.full_name in page
    assert "+7 916 123-45-67" in page
    assert f'href="/patients/{referrer.pk}/"' in page
    assert 'data-testid="consent-state"' in page
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.READ, actor=doctor, patient_id=patient.pk
        ).count()
        == 1
    )
    # Doctors read; they get neither the edit, consent nor merge controls.
    assert f"/patients/{patient.pk}/edit/" not in page
    assert f"/patients/{patient.pk}/consents/" not in page
    assert f"/patients/{patient.pk}/merge/" not in page


def test_card_shows_family_referrals_and_likely_duplicates(staff_client):
    client, _manager = staff_client(Role.MANAGER)
    family = FamilyGroupFactory()
    patient = PatientFactory(family_group=family, phone="+79161234567")
    sibling = PatientFactory(family_group=family)
    referred = PatientFactory(referred_by=patient)
    twin = PatientFactory(phone="+79161234567")
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert sibling.full_name in page
    assert referred.full_name in page
    assert 'data-testid="duplicate-warning"' in page
    assert f"/patients/{patient.pk}/merge/?target={twin.pk}" in page


def test_list_search_with_htmx_returns_rows_only(staff_client):
    client, _doctor = staff_client(Role.DOCTOR)
    PatientFactory(last_name="Петров", first_name="Иван")
    PatientFactory(last_name="Сидоров", first_name="Олег")
    response = client.get("/patients/", {"q": "петр ива"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "Петров Иван" in page
    assert "Сидоров" not in page
    assert "<html" not in page


def test_list_says_when_a_search_matches_more_than_it_lists(staff_client, monkeypatch):
    client, _doctor = staff_client(Role.DOCTOR)
    monkeypatch.setattr(selectors, "SEARCH_CAP", 2)
    PatientFactory.create_batch(3, first_name="Олег")
    response = client.get("/patients/", {"q": "олег"})
    assert response.context["truncated"]
    assert 'data-testid="search-truncated"' in response.content.decode()
    few = client.get("/patients/", {"q": "олег", "page": 1})
    assert len(few.context["page"]) == 2
    PatientFactory(last_name="Редкий")
    assert (
        'data-testid="search-truncated"'
        not in client.get("/patients/", {"q": "редк"}).content.decode()
    )


def test_list_pages_without_counting(staff_client):
    client, _doctor = staff_client(Role.DOCTOR)
    PatientFactory.create_batch(51)
    first = client.get("/patients/")
    assert len(first.context["page"]) == 50
    assert first.context["page"].has_next
    second = client.get("/patients/", {"page": 2})
    assert len(second.context["page"]) == 1
    assert not second.context["page"].has_next


def test_doctor_of_a_branch_sees_only_that_branchs_patients(staff_client):
    client, doctor = staff_client(Role.DOCTOR)
    mine, other = BranchFactory(), BranchFactory()
    doctor.profile.branch = mine
    doctor.profile.save()
    own = PatientFactory(home_branch=mine)
    foreign = PatientFactory(home_branch=other)
    listed = list(client.get("/patients/").context["page"])
    assert own in listed
    assert foreign not in listed
    assert client.get(f"/patients/{foreign.pk}/").status_code == 404
    assert client.get(f"/api/patients/{foreign.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(patient_id=foreign.pk).exists()


def test_manager_with_a_branch_still_sees_all(staff_client):
    client, manager = staff_client(Role.MANAGER)
    manager.profile.branch = BranchFactory()
    manager.profile.save()
    foreign = PatientFactory(home_branch=BranchFactory())
    assert client.get(f"/patients/{foreign.pk}/").status_code == 200


# --- edit --------------------------------------------------------------------------------


def test_curator_edits_the_card_and_the_change_is_audited(staff_client):
    client, curator = staff_client(Role.CURATOR)
    patient = PatientFactory()
    form = client.get(f"/patients/{patient.pk}/edit/")
    assert form.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.READ, patient_id=patient.pk).exists()
    data = {**FORM, "last_name": patient.last_name, "first_name": patient.first_name}
    response = client.post(f"/patients/{patient.pk}/edit/", {**data, "is_deceased": "on"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.phone, patient.is_deceased) == ("+79167654321", True)
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, patient_id=patient.pk)
    assert event.actor == curator
    assert "is_deceased" in event.details["fields"]


def test_edit_with_bad_phone_keeps_the_old_card(staff_client):
    client, _curator = staff_client(Role.CURATOR)
    patient = PatientFactory(phone="+79161234567")
    response = english(client).post(f"/patients/{patient.pk}/edit/", {**FORM, "phone": "0"})
    assert response.status_code == 400
    assert "is not a phone number" in response.content.decode()
    patient.refresh_from_db()
    assert patient.phone == "+79161234567"
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.DOCTOR])
def test_managers_and_doctors_cannot_edit(staff_client, role):
    client, _user = staff_client(role)
    patient = PatientFactory(last_name="Прежняя")  # never the form's (random names can be)
    assert client.get(f"/patients/{patient.pk}/edit/").status_code == 403
    assert client.post(f"/patients/{patient.pk}/edit/", FORM).status_code == 403
    patient.refresh_from_db()
    assert patient.last_name == "Прежняя"


# --- consents --------------------------------------------------------------------------


def test_curator_records_a_consent_with_htmx(staff_client):
    client, curator = staff_client(Role.CURATOR)
    patient = PatientFactory()
    response = client.post(
        f"/patients/{patient.pk}/consents/",
        {"kind": "reminders", "channel": "telegram", "granted": "1", "text_version": "2026-01"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'data-testid="consent-state"' in response.content.decode()
    record = ConsentRecord.objects.get()
    assert (record.patient, record.recorded_by, record.granted) == (patient, curator, True)


def test_revocation_without_htmx_redirects_to_the_card(staff_client):
    client, _admin = staff_client(Role.ADMINISTRATOR)
    patient = PatientFactory()
    response = client.post(
        f"/patients/{patient.pk}/consents/",
        {"kind": "marketing", "channel": "any", "granted": "0", "text_version": ""},
    )
    assert response.status_code == 302
    assert ConsentRecord.objects.get().granted is False


def test_grant_without_text_version_is_refused(staff_client):
    client, _admin = staff_client(Role.ADMINISTRATOR)
    patient = PatientFactory()
    response = client.post(
        f"/patients/{patient.pk}/consents/",
        {"kind": "marketing", "channel": "any", "granted": "1", "text_version": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.MANAGER])
def test_doctors_and_managers_cannot_record_consents(staff_client, role):
    client, _user = staff_client(role)
    patient = PatientFactory()
    response = client.post(
        f"/patients/{patient.pk}/consents/",
        {"kind": "reminders", "channel": "sms", "granted": "1", "text_version": "1"},
    )
    assert response.status_code == 403
    assert not ConsentRecord.objects.exists()


# --- family ------------------------------------------------------------------------------


def test_family_member_added_by_card_number(staff_client):
    client, _curator = staff_client(Role.CURATOR)
    patient, relative = PatientFactory(), PatientFactory()
    response = client.post(f"/patients/{patient.pk}/family/", {"relative": relative.pk})
    assert response.status_code == 302
    patient.refresh_from_db()
    relative.refresh_from_db()
    assert patient.family_group is not None
    assert patient.family_group == relative.family_group


# --- merge -------------------------------------------------------------------------------


def test_manager_merges_after_comparing_and_confirming(staff_client):
    client, manager = staff_client(Role.MANAGER)
    source = PatientFactory()
    target = PatientFactory()
    ConsentRecordFactory(patient=source)

    compare = client.get(f"/patients/{source.pk}/merge/", {"target": target.pk})
    assert compare.status_code == 200
    page = compare.content.decode()
    assert source.full_name in page
    assert target.full_name in page

    unconfirmed = client.post(f"/patients/{source.pk}/merge/", {"target": target.pk})
    assert unconfirmed.status_code == 400
    source.refresh_from_db()
    assert source.merged_into is None

    done = client.post(f"/patients/{source.pk}/merge/", {"target": target.pk, "confirm": "on"})
    assert done.status_code == 302
    assert done["Location"] == f"/patients/{target.pk}/"
    source.refresh_from_db()
    assert source.merged_into == target
    assert ConsentRecord.objects.get().patient == target
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, actor=manager, patient_id=target.pk
    ).exists()


def test_merge_into_itself_is_refused_in_the_form(staff_client):
    client, _admin = staff_client(Role.ADMINISTRATOR)
    patient = PatientFactory()
    response = client.post(
        f"/patients/{patient.pk}/merge/", {"target": patient.pk, "confirm": "on"}
    )
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.merged_into is None


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.CURATOR])
def test_doctors_and_curators_cannot_merge(staff_client, role):
    client, _user = staff_client(role)
    source, target = PatientFactory(), PatientFactory()
    assert client.get(f"/patients/{source.pk}/merge/").status_code == 403
    response = client.post(f"/patients/{source.pk}/merge/", {"target": target.pk, "confirm": "on"})
    assert response.status_code == 403
    source.refresh_from_db()
    assert source.merged_into is None


def test_merged_card_points_to_the_kept_one(staff_client, make_staff):
    client, _curator = staff_client(Role.CURATOR)
    source, target = PatientFactory(), PatientFactory()
    services.patient_merge(actor=make_staff(Role.MANAGER), source=source, target=target)
    page = client.get(f"/patients/{source.pk}/").content.decode()
    assert f'href="/patients/{target.pk}/"' in page
    assert f"/patients/{source.pk}/edit/" not in page
    edit = client.get(f"/patients/{source.pk}/edit/")
    assert edit.status_code == 302
    assert edit["Location"] == f"/patients/{target.pk}/"


# --- query counts --------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow_with_patients(staff_client, django_assert_max_num_queries):
    client, _doctor = staff_client(Role.DOCTOR)
    PatientFactory()
    few = count_queries(client, "/patients/")
    PatientFactory.create_batch(29, home_branch=BranchFactory())
    many = count_queries(client, "/patients/")
    assert many == few
    # A search adds one query (collecting the bounded set of matches), whatever matches.
    with django_assert_max_num_queries(few + 1):
        client.get("/patients/", {"q": "а"})


def test_detail_query_count_does_not_grow_with_consents_family_or_referrals(
    staff_client, django_assert_max_num_queries
):
    client, _curator = staff_client(Role.CURATOR)
    family = FamilyGroupFactory()
    patient = PatientFactory(family_group=family, referred_by=PatientFactory())
    ConsentRecordFactory(patient=patient)
    PatientFactory(family_group=family)
    PatientFactory(referred_by=patient)
    few = count_queries(client, f"/patients/{patient.pk}/")

    for _i in range(29):
        ConsentRecordFactory(patient=patient, kind="marketing", channel="email")
        PatientFactory(family_group=family)
        PatientFactory(referred_by=patient)
    with django_assert_max_num_queries(few):
        client.get(f"/patients/{patient.pk}/")
    assert count_queries(client, f"/patients/{patient.pk}/") == few
