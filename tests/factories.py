import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_crm.catalogue.models import Branch, Specialty
from patients.models import Patient


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Branch {n}")
    address = "Moscow, Tverskaya 1"


MAIN_BRANCH_NAME = "Main"


def main_branch() -> Branch:
    """The branch the fixtures' staff and patients belong to unless a test says other."""
    return BranchFactory(name=MAIN_BRANCH_NAME)


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Specialty {n}")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    last_name = factory.Faker("last_name", locale="ru_RU")
    first_name = factory.Faker("first_name", locale="ru_RU")
    birth_date = factory.Faker("date_of_birth", minimum_age=1, maximum_age=90)
    phone = factory.Sequence(lambda n: f"+7999{n:07d}")
    home_branch = factory.SubFactory(BranchFactory, name=MAIN_BRANCH_NAME)


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    name = "Authenticator app"
    confirmed = True
