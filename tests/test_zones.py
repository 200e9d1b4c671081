"""One rule for a stored time zone name, for branches and patients alike: the zone it
names, else the clinic's (settings.TIME_ZONE) — never UTC by accident."""

from zoneinfo import ZoneInfo

import pytest

from clinic_crm.catalogue.models import Branch
from clinic_crm.zones import zone_or_clinic
from patients.models import Patient
from patients.zones import patient_zone


@pytest.mark.parametrize("name", ["", None, "Mars/Olympus", "../../etc/passwd"])
def test_no_zone_or_an_unknown_one_is_the_clinics(settings, name):
    settings.TIME_ZONE = "Asia/Yekaterinburg"
    assert zone_or_clinic(name) == ZoneInfo("Asia/Yekaterinburg")


def test_a_named_zone_is_that_zone():
    assert zone_or_clinic("Asia/Vladivostok") == ZoneInfo("Asia/Vladivostok")


def test_branches_and_patients_follow_the_same_rule(settings):
    settings.TIME_ZONE = "Europe/Samara"
    assert Branch(time_zone="").zone == ZoneInfo("Europe/Samara")
    assert patient_zone(Patient(time_zone="")) == ZoneInfo("Europe/Samara")
    assert Branch(time_zone="Asia/Omsk").zone == patient_zone(Patient(time_zone="Asia/Omsk"))
