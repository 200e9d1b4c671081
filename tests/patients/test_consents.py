"""Consent records are append-only in the database; the latest record is the state."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from clinic_crm.staff.roles import Role
from patients import services
from patients.models import ConsentChannel, ConsentKind, ConsentRecord
from patients.selectors import consent_state, has_consent
from tests.conftest import refused_by_privilege
from tests.patients.factories import ConsentRecordFactory, PatientFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def at(minutes: int) -> datetime.datetime:
    return NOW + datetime.timedelta(minutes=minutes)


def test_application_may_not_change_a_consent(app_role):
    record = ConsentRecordFactory(kind=ConsentKind.REMINDERS, granted=True)
    with refused_by_privilege("patients_consentrecord"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(kind=ConsentKind.MARKETING)
    with refused_by_privilege("patients_consentrecord"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(granted=False)
    record.note = "edited"
    with refused_by_privilege("patients_consentrecord"), transaction.atomic():
        record.save()
    record.refresh_from_db()
    assert (record.kind, record.granted, record.note) == (ConsentKind.REMINDERS, True, "")


def test_application_may_not_delete_a_consent(app_role):
    record = ConsentRecordFactory()
    with refused_by_privilege("patients_consentrecord"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).delete()
    with (
        refused_by_privilege("patients_consentrecord"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM patients_consentrecord")
    assert ConsentRecord.objects.filter(pk=record.pk).exists()


def test_database_refuses_changing_or_deleting_a_consent_even_for_the_owner(owner_db):
    """The trigger behind the privileges: the owner (and a one-role set-up) can't either."""
    record = ConsentRecordFactory(kind=ConsentKind.REMINDERS, granted=True)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(granted=False)
    record.note = "edited"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        record.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).delete()
    record.refresh_from_db()
    assert (record.kind, record.granted, record.note) == (ConsentKind.REMINDERS, True, "")


def test_moving_a_consent_to_an_unrelated_patient_is_refused():
    record = ConsentRecordFactory()
    stranger = PatientFactory()
    with pytest.raises(DatabaseError, match="merged"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(patient=stranger)
    assert ConsentRecord.objects.get(pk=record.pk).patient_id == record.patient_id


def test_moving_a_consent_with_another_change_is_refused_even_when_merging(owner_db):
    source, target = PatientFactory(), PatientFactory()
    record = ConsentRecordFactory(patient=source, granted=True)
    source.merged_into, source.is_archived = target, True
    source.save()
    # As the owner, whom no privilege stops: the trigger refuses (the application role
    # may not update ``granted`` at all).
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(patient=target, granted=False)
    # patient_id alone, from the merged card to its target: allowed.
    assert ConsentRecord.objects.filter(pk=record.pk).update(patient=target) == 1


def test_merge_moves_consents_through_the_trigger(make_staff):
    admin = make_staff(Role.ADMINISTRATOR)
    source, target = PatientFactory(), PatientFactory()
    record = ConsentRecordFactory(patient=source)
    services.patient_merge(actor=admin, source=source, target=target)
    record.refresh_from_db()
    assert record.patient == target


def test_consent_table_refuses_truncate_to_the_application_whatever_it_sets(app_role):
    ConsentRecordFactory()
    with transaction.atomic(), connection.cursor() as cursor:
        # The bypass setting of old is only a custom variable now: it changes nothing.
        cursor.execute("SET LOCAL clinic_crm.audit_maintenance = 'on'")
        with refused_by_privilege("patients_consentrecord"), transaction.atomic():
            cursor.execute("TRUNCATE patients_consentrecord CASCADE")
    assert ConsentRecord.objects.count() == 1


def test_consent_state_is_the_latest_record_per_kind_and_channel():
    patient = PatientFactory()
    ConsentRecordFactory(
        patient=patient, kind="reminders", channel="sms", granted=True, recorded_at=at(0)
    )
    latest_sms = ConsentRecordFactory(
        patient=patient, kind="reminders", channel="sms", granted=False, recorded_at=at(5)
    )
    ConsentRecordFactory(
        patient=patient, kind="reminders", channel="sms", granted=True, recorded_at=at(-5)
    )
    marketing = ConsentRecordFactory(
        patient=patient, kind="marketing", channel="any", granted=True, recorded_at=at(1)
    )
    ConsentRecordFactory(kind="personal_data", channel="any")  # someone else's

    state = consent_state(patient)

    assert state == {("reminders", "sms"): latest_sms, ("marketing", "any"): marketing}


def test_consent_state_from_prefetched_history_matches_the_query():
    patient = PatientFactory()
    for minute, granted in [(0, True), (3, False), (2, True)]:
        ConsentRecordFactory(
            patient=patient, channel="telegram", granted=granted, recorded_at=at(minute)
        )
    history = list(ConsentRecord.objects.filter(patient=patient))
    assert consent_state(patient, history=history) == consent_state(patient)


def test_no_record_means_no_consent():
    assert has_consent(PatientFactory(), ConsentKind.REMINDERS, ConsentChannel.SMS) is False


@pytest.mark.parametrize(
    ("records", "channel", "expected"),
    [
        # (channel, granted, minute) ...
        ([("any", True, 0)], "sms", True),
        ([("any", True, 0), ("sms", False, 1)], "sms", False),  # newer channel record wins
        ([("sms", False, 0), ("any", True, 1)], "sms", True),  # newer "any" record wins
        ([("sms", True, 0), ("any", False, 1)], "sms", False),  # a later blanket revocation
        ([("any", False, 0), ("sms", True, 0)], "sms", True),  # same instant: channel's own
        ([("sms", True, 0)], "email", False),  # other channel only
        ([("sms", True, 0), ("any", False, 5), ("any", True, 9)], "sms", True),
    ],
)
def test_has_consent_channel_versus_any(records, channel, expected):
    patient = PatientFactory()
    for record_channel, granted, minute in records:
        ConsentRecordFactory(
            patient=patient, kind="reminders", channel=record_channel, granted=granted,
            recorded_at=at(minute),
        )  # fmt: skip
    assert has_consent(patient, "reminders", channel) is expected
    assert has_consent(patient, "marketing", channel) is False


def test_has_consent_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown"):
        has_consent(PatientFactory(), "reminder", "sms")
