"""The patient API shows the full card and the same records as the pages."""

import pytest

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from patients import services
from tests.patients.factories import FamilyGroupFactory, PatientFactory

pytestmark = pytest.mark.django_db


def test_detail_has_the_new_fields_and_is_audited(staff_client):
    client, doctor = staff_client(Role.DOCTOR)
    family = FamilyGroupFactory()
    patient = PatientFactory(
        family_group=family, preferred_channel="telegram", time_zone="Asia/Omsk", source="website"
    )
    body = client.get(f"/api/patients/{patient.pk}/").json()
    assert body["preferred_channel"] == "telegram"
    assert body["preferred_language"] == "ru"
    assert body["time_zone"] == "Asia/Omsk"
    assert body["source"] == "website"
    assert body["family_group_id"] == family.pk
    assert body["merged_into_id"] is None
    assert (body["is_archived"], body["is_deceased"]) == (False, False)
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.READ, actor=doctor, patient_id=patient.pk
        ).count()
        == 1
    )


def test_list_searches_and_hides_merged_cards(staff_client, make_staff):
    client, _curator = staff_client(Role.CURATOR)
    kept = PatientFactory(last_name="Апишный")
    merged = PatientFactory(last_name="Апишный")
    services.patient_merge(actor=make_staff(Role.MANAGER), source=merged, target=kept)
    results = client.get("/api/patients/", {"q": "апиш"}).json()["results"]
    assert [row["id"] for row in results] == [kept.pk]
    assert client.get(f"/api/patients/{merged.pk}/").json()["merged_into_id"] == kept.pk
