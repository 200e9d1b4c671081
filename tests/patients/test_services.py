"""Creating, changing and merging patient cards through the services."""

import datetime

import pytest
from django.db import connection

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.db import owner_connection
from clinic_crm.staff.roles import Role
from patients import selectors, services
from patients.models import ConsentChannel, ConsentKind, ConsentRecord, Patient
from patients.services import PatientError
from tests.patients.factories import (
    BranchFactory,
    ConsentRecordFactory,
    FamilyGroupFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_staff):
    return make_staff(Role.ADMINISTRATOR)


def create(actor, **overrides):
    data = {"last_name": "Петров", "first_name": "Иван", "phone": "8 (916) 123-45-67"}
    data.update(overrides)
    return services.patient_create(actor=actor, **data)


def test_create_stores_phone_in_e164_and_audits(admin):
    patient, duplicates = create(admin, email=" Ivan@Example.COM ", time_zone="Asia/Omsk")
    patient.refresh_from_db()
    assert patient.phone == "+79161234567"
    assert patient.email == "ivan@example.com"
    assert patient.search_name == "петров иван "
    assert duplicates == []
    event = AuditEvent.objects.get(action=AuditAction.CREATE)
    assert (event.actor, event.patient_id, event.details) == (admin, patient.pk, {})


def test_create_with_bad_phone_saves_nothing(admin):
    with pytest.raises(PatientError) as excinfo:
        create(admin, phone="12-34")
    assert excinfo.value.field == "phone"
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus"),
        ("email", "not-an-email"),
        ("preferred_channel", "pigeon"),
        ("birth_date", datetime.date(2999, 1, 1)),
        ("birth_date", datetime.date(1850, 1, 1)),
        ("last_name", "  "),
    ],
)
def test_create_refuses_invalid_fields(admin, field, value):
    with pytest.raises(PatientError) as excinfo:
        create(admin, **{field: value})
    assert excinfo.value.field == field
    assert not Patient.objects.exists()


def test_same_phone_is_flagged_as_duplicate(admin):
    first = PatientFactory(phone="+79161234567")
    patient, duplicates = create(admin, phone="+7 916 123 45 67", last_name="Другой")
    assert duplicates == [first]
    event = AuditEvent.objects.get(action=AuditAction.CREATE, patient_id=patient.pk)
    assert event.details == {"possible_duplicates": [first.pk]}


def test_same_name_and_birth_date_in_any_case_is_flagged(admin):
    born = datetime.date(1980, 5, 17)
    first = PatientFactory(last_name="Петрова", first_name="Анна", birth_date=born)
    PatientFactory(last_name="Петрова", first_name="Анна", birth_date=datetime.date(1981, 5, 17))
    _patient, duplicates = create(
        admin, last_name="ПЕТРОВА", first_name="анна", birth_date=born, phone=""
    )
    assert duplicates == [first]


def test_merged_cards_are_not_flagged_as_duplicates(admin):
    kept = PatientFactory()
    merged = PatientFactory(phone="+79161234567")
    services.patient_merge(actor=admin, source=merged, target=kept)
    _patient, duplicates = create(admin, phone="+79161234567")
    assert duplicates == []


def test_update_changes_fields_and_audits_their_names_only(admin):
    patient = PatientFactory()
    services.patient_update(actor=admin, patient=patient, phone="8 912 000-11-22", email="")
    patient.refresh_from_db()
    assert patient.phone == "+79120001122"
    event = AuditEvent.objects.get(action=AuditAction.UPDATE)
    assert event.details == {"fields": ["phone"]}
    assert "79120001122" not in str(event.details)


def test_update_without_change_writes_no_audit_row(admin):
    patient = PatientFactory()
    services.patient_update(actor=admin, patient=patient, last_name=patient.last_name)
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


def test_update_with_bad_phone_changes_nothing(admin):
    patient = PatientFactory(phone="+79161234567", email="old@example.com")
    with pytest.raises(PatientError):
        services.patient_update(
            actor=admin, patient=patient, email="new@example.com", phone="not a phone"
        )
    patient.refresh_from_db()
    assert (patient.phone, patient.email) == ("+79161234567", "old@example.com")


def test_patient_cannot_refer_themselves(admin):
    patient = PatientFactory()
    with pytest.raises(PatientError) as excinfo:
        services.patient_update(actor=admin, patient=patient, referred_by=patient)
    assert excinfo.value.field == "referred_by"


def test_consent_record_is_appended_and_audited(admin):
    patient = PatientFactory()
    record = services.consent_record(
        patient=patient,
        kind=ConsentKind.MARKETING,
        channel=ConsentChannel.EMAIL,
        granted=True,
        actor=admin,
        text_version="2026-01",
    )
    assert (record.recorded_by, record.patient) == (admin, patient)
    assert record.recorded_at is not None
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="patients.ConsentRecord")
    assert event.patient_id == patient.pk


def test_consent_grant_needs_a_text_version_but_a_revocation_does_not(admin):
    patient = PatientFactory()
    with pytest.raises(PatientError) as excinfo:
        services.consent_record(
            patient=patient, kind="reminders", channel="sms", granted=True, actor=admin,
            text_version=" ",
        )  # fmt: skip
    assert excinfo.value.field == "text_version"
    services.consent_record(
        patient=patient, kind="reminders", channel="sms", granted=False, actor=admin,
        text_version="",
    )  # fmt: skip
    assert ConsentRecord.objects.filter(patient=patient).count() == 1


def test_consent_refuses_unknown_kind_and_channel(admin):
    patient = PatientFactory()
    for kind, channel in [("spam", "sms"), ("reminders", "pigeon")]:
        with pytest.raises(PatientError):
            services.consent_record(
                patient=patient, kind=kind, channel=channel, granted=False, actor=admin,
                text_version="",
            )  # fmt: skip
    assert not ConsentRecord.objects.exists()


def test_family_link_puts_both_into_one_family(admin):
    parent, child, other_child = PatientFactory(), PatientFactory(), PatientFactory()
    group = services.family_link(actor=admin, patient=child, relative=parent)
    services.family_link(actor=admin, patient=other_child, relative=child)
    assert set(group.members.all()) == {parent, child, other_child}
    parent.refresh_from_db()
    assert list(selectors.family_members(patient=parent)) == sorted(
        [child, other_child], key=lambda p: (p.birth_date, p.pk)
    )
    services.family_unlink(actor=admin, patient=child)
    child.refresh_from_db()
    assert child.family_group is None


def test_family_link_joins_two_families(admin):
    first, second = FamilyGroupFactory(), FamilyGroupFactory()
    a1, a2 = PatientFactory(family_group=first), PatientFactory(family_group=first)
    b1 = PatientFactory(family_group=second)
    services.family_link(actor=admin, patient=a1, relative=b1)
    assert set(second.members.all()) == {a1, a2, b1}


# --- merge -------------------------------------------------------------------------------


def test_merge_moves_consents_referrals_and_family_and_marks_the_source(admin):
    branch = BranchFactory()
    family = FamilyGroupFactory()
    target = PatientFactory(email="", home_branch=None, middle_name="")
    source = PatientFactory(
        email="dup@example.com", home_branch=branch, middle_name="Петрович", family_group=family
    )
    consents = ConsentRecordFactory.create_batch(3, patient=source)
    ConsentRecordFactory(patient=target)
    referred = PatientFactory(referred_by=source)

    kept = services.patient_merge(actor=admin, source=source, target=target)

    assert kept == target
    assert ConsentRecord.objects.filter(patient=target).count() == 4
    assert not ConsentRecord.objects.filter(patient=source).exists()
    assert {c.pk for c in consents} <= set(
        ConsentRecord.objects.filter(patient=target).values_list("pk", flat=True)
    )
    referred.refresh_from_db()
    assert referred.referred_by == target
    source.refresh_from_db()
    assert (source.merged_into, source.is_archived) == (target, True)
    target.refresh_from_db()
    assert (target.email, target.home_branch, target.middle_name, target.family_group) == (
        "dup@example.com",
        branch,
        "Петрович",
        family,
    )
    assert target.merged_into is None
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, patient_id=target.pk)
    assert event.details["merged_from"] == source.pk
    assert event.details["moved"] == {"patients.ConsentRecord": 3, "patients.Patient": 1}
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, patient_id=source.pk, details__merged_into=target.pk
    ).exists()


def test_merge_keeps_the_targets_own_values(admin):
    target = PatientFactory(email="kept@example.com", phone="+79160000001")
    source = PatientFactory(email="dup@example.com", phone="+79160000002")
    services.patient_merge(actor=admin, source=source, target=target)
    target.refresh_from_db()
    assert (target.email, target.phone) == ("kept@example.com", "+79160000001")


def test_merge_leaves_nothing_pointing_at_the_source(admin):
    """Whatever models exist (visits, plans, messages of other apps), no row refers to the
    merged card afterwards."""
    target, source = PatientFactory(), PatientFactory()
    ConsentRecordFactory(patient=source)
    PatientFactory(referred_by=source)
    earlier = PatientFactory()
    services.patient_merge(actor=admin, source=earlier, target=source)

    services.patient_merge(actor=admin, source=source, target=target)

    for rel in services._patient_relations():
        rows = rel.related_model._base_manager.filter(**{rel.field.name: source})
        assert not rows.exists(), rel.related_model._meta.label
    earlier.refresh_from_db()
    assert earlier.merged_into == target  # the chain points at a live card


def test_merge_when_target_was_referred_by_source(admin):
    source = PatientFactory()
    target = PatientFactory(referred_by=source)
    services.patient_merge(actor=admin, source=source, target=target)
    target.refresh_from_db()
    assert target.referred_by is None


def test_merge_refuses_self_merge(admin):
    patient = PatientFactory()
    with pytest.raises(PatientError):
        services.patient_merge(actor=admin, source=patient, target=patient)
    patient.refresh_from_db()
    assert patient.merged_into is None


def test_merge_refuses_merged_source_or_target(admin):
    a, b, c = PatientFactory(), PatientFactory(), PatientFactory()
    services.patient_merge(actor=admin, source=a, target=b)
    with pytest.raises(PatientError):
        services.patient_merge(actor=admin, source=c, target=a)
    with pytest.raises(PatientError):
        services.patient_merge(actor=admin, source=a, target=c)
    c.refresh_from_db()
    assert c.merged_into is None


def test_merged_card_cannot_be_edited_or_get_consents(admin):
    a, b = PatientFactory(), PatientFactory()
    services.patient_merge(actor=admin, source=a, target=b)
    with pytest.raises(PatientError):
        services.patient_update(actor=admin, patient=a, email="x@example.com")
    with pytest.raises(PatientError):
        services.consent_record(
            patient=a, kind="reminders", channel="sms", granted=False, actor=admin,
            text_version="",
        )  # fmt: skip


def test_merge_is_all_or_nothing(admin, transactional_db):
    """When a move fails half-way, nothing of the merge is kept."""
    target, source = PatientFactory(), PatientFactory()
    ConsentRecordFactory(patient=source)
    PatientFactory(referred_by=source)
    # Only the owner of the table may add a trigger, and a connection can't change its
    # role inside a transaction: hence a transactional test, the trigger committed and
    # dropped again, and the merge itself run as the application.
    with owner_connection(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_move() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'blocked'; END; $$ LANGUAGE plpgsql;"
            "CREATE TRIGGER test_refuse_referral_move BEFORE UPDATE ON patients_patient "
            "FOR EACH ROW WHEN (OLD.referred_by_id IS DISTINCT FROM NEW.referred_by_id "
            "AND OLD.referred_by_id IS NOT NULL) EXECUTE FUNCTION test_refuse_move();"
        )
    try:
        with pytest.raises(PatientError):
            services.patient_merge(actor=admin, source=source, target=target)
    finally:
        with owner_connection(), connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER test_refuse_referral_move ON patients_patient;"
                "DROP FUNCTION test_refuse_move();"
            )
    source.refresh_from_db()
    assert source.merged_into is None
    assert ConsentRecord.objects.filter(patient=source).count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()
