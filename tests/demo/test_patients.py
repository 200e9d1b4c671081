"""The COPY data generator fills cards exactly as the normal save path would."""

import pytest

from demo.patients import patients_bulk_generate
from patients.models import Patient
from patients.selectors import fold, patient_search
from patients.validators import normalize_phone, validate_time_zone
from tests.patients.factories import BranchFactory

pytestmark = pytest.mark.django_db


def test_generates_searchable_valid_patients():
    branches = [BranchFactory(), BranchFactory()]
    seen = []
    inserted = patients_bulk_generate(
        count=500, batch_size=200, seed=42, progress=lambda done, total: seen.append((done, total))
    )
    assert inserted == 500
    assert Patient.objects.count() == 500
    assert seen == [(200, 500), (400, 500), (500, 500)]
    for patient in Patient.objects.all():
        assert patient.search_name == fold(
            f"{patient.last_name} {patient.first_name} {patient.middle_name}"
        )
        assert normalize_phone(patient.phone) == patient.phone
        validate_time_zone(patient.time_zone)
        assert patient.home_branch_id in {b.pk for b in branches}
        assert patient.created_at is not None
        patient.full_clean()  # everything patient_create would check
    sample = Patient.objects.order_by("pk")[250]
    words = f"{sample.last_name[:5]} {sample.first_name[:3]}"
    assert sample in patient_search(query=words)
    assert sample in patient_search(query=sample.phone[-7:])


def test_same_seed_same_people():
    patients_bulk_generate(count=20, seed=1)
    first = list(Patient.objects.order_by("pk").values_list("last_name", "phone"))
    Patient.objects.all().delete()
    patients_bulk_generate(count=20, seed=1)
    assert list(Patient.objects.order_by("pk").values_list("last_name", "phone")) == first


def test_women_get_female_surnames_and_patronymics():
    patients_bulk_generate(count=300, seed=3)
    women = Patient.objects.filter(middle_name__endswith="на")
    assert women.exists()
    assert not women.filter(last_name__endswith="ов").exists()
