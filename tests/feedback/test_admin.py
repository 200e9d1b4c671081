"""Managers define surveys in the admin; a micro-survey stays three questions long."""

import pytest

from feedback.admin import SurveyForm
from feedback.models import CsiAttribute, Survey

pytestmark = pytest.mark.django_db


def _attributes(count):
    return [
        CsiAttribute.objects.create(key=f"aspect-{n}", name=f"Aspect {n}", question="?")
        for n in range(count)
    ]


def _form(kind, attributes, asks_nps=True):
    return SurveyForm(
        data={
            "kind": kind,
            "name": "After the visit",
            "attributes": [a.pk for a in attributes],
            "asks_nps": asks_nps,
            "asks_comment": True,
            "is_active": False,  # the clinic already has an active one of each kind
        }
    )


def test_a_micro_surveys_aspects_are_a_pool_asked_two_at_a_time():
    """Each invitation asks two of them in turn (tests/feedback/test_invitations.py)."""
    form = _form(Survey.Kind.VISIT, _attributes(3))
    assert form.is_valid()
    assert "two of these, in turn" in str(form.fields["attributes"].help_text)


def test_a_stage_survey_may_ask_about_more():
    assert _form(Survey.Kind.STAGE, _attributes(5)).is_valid()


def test_a_survey_must_ask_something():
    form = _form(Survey.Kind.VISIT, [], asks_nps=False)
    assert not form.is_valid()
    assert "must ask something" in str(form.errors)


def test_the_manager_role_may_edit_surveys(make_staff):
    from clinic_crm.staff.roles import Role

    manager = make_staff(Role.MANAGER)
    assert manager.has_perm("feedback.change_survey")
    assert manager.has_perm("feedback.change_csiattribute")
    assert not make_staff(Role.DOCTOR).has_perm("feedback.change_survey")
