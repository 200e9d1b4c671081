"""Fixtures of the journeys tests."""

import pytest

from tests.journeys.factories import make_clinic


@pytest.fixture
def scheduling_clinic(make_staff):
    """The small clinic of the scheduling tests (``tests.journeys.factories.Clinic``): one
    branch, a 30-minute service, a doctor with hours every day, an administrator and a
    patient. Not the shared ``clinic`` fixture, which has two doctors, a curator and a
    manager."""
    return make_clinic(make_staff)
