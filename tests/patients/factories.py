import factory

from patients.models import ConsentChannel, ConsentKind, ConsentRecord, FamilyGroup
from tests.factories import BranchFactory, PatientFactory

__all__ = ["BranchFactory", "ConsentRecordFactory", "FamilyGroupFactory", "PatientFactory"]


class FamilyGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyGroup

    name = factory.Sequence(lambda n: f"Family {n}")


class ConsentRecordFactory(factory.django.DjangoModelFactory):
    """A consent row written directly (the service is tested on its own)."""

    class Meta:
        model = ConsentRecord

    patient = factory.SubFactory(PatientFactory)
    kind = ConsentKind.REMINDERS
    channel = ConsentChannel.ANY
    granted = True
    text_version = "2026-01"
