"""Every URL that takes an object id, walked by staff of another branch.

Staff of a branch with no care relationship to a patient get nothing: no data (403 or
404, the patient named nowhere) and no change (the database is the same after the
request). Staff of yet another branch who *are* in the patient's care (a visit with
them, a plan they lead or curate, a task assigned to them, a visit at their branch) get
the page and can act. The list of cases must name every such URL: a new one that is
forgotten fails ``test_every_object_url_is_swept``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.urls import get_resolver
from django.utils import timezone

from clinic_crm.staff.roles import Role
from tests.conftest import verified_client_for
from tests.helpers import walk_urls
from tests.worlds import World, fingerprint

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    """One URL: the object it names, who in the patient's care uses it, with what."""

    obj: str  # attribute of World holding the object whose id goes into the URL
    carer: str | None  # attribute of World: the carer who must get access
    get: tuple[int, ...] | None = (200,)  # what the carer's GET answers; None: POST-only
    post: Any = None  # World -> form data of a POST that succeeds for the carer
    post_ok: tuple[int, ...] = (200, 204, 302)
    extra: dict[str, str] = field(default_factory=dict)  # other URL kwargs -> World attr


def _visit_move(w):
    local = timezone.localtime(w.visit_c.starts_at) + timedelta(hours=3)
    return {
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "doctor": w.doctor_c.pk,
        "confirmed": "1",
    }


def _card(w):
    p = w.p
    return {
        "last_name": p.last_name,
        "first_name": p.first_name,
        "birth_date": p.birth_date.isoformat(),
        "phone": p.phone,
        "preferred_language": "ru",
        "time_zone": "Europe/Moscow",
        "home_branch": w.a.pk,
        "middle_name": "Изменённая",
    }


CASES: dict[str, Case] = {
    "patients:detail": Case("p", "curator_c"),
    "patients:edit": Case("p", "curator_c", post=_card),
    "patients:consent_record": Case(
        "p",
        "curator_c",
        get=None,
        post=lambda w: {
            "kind": "reminders",
            "channel": "any",
            "granted": "1",
            "text_version": "2026-01",
        },
    ),
    "patients:family_link": Case(
        "p", "curator_c", get=None, post=lambda w: {"relative": w.other_card.pk}
    ),
    "patients:family_unlink": Case("p", "curator_c", get=None, post=lambda w: {}),
    "patients:merge": Case(
        "p", "admin_c", post=lambda w: {"target": w.other_card.pk, "confirm": "on"}
    ),
    "api:api_patient_detail": Case("p", "doctor_c"),
    "journeys:timeline": Case("p", "doctor_c"),
    "journeys:plan_create": Case(
        "p",
        "doctor_c",
        post=lambda w: {
            "title": "Implant",
            "branch": w.c.pk,
            "lead_doctor": w.doctor_c.pk,
            "curator": w.curator_c.pk,
            "observation_months": 6,
        },
    ),
    "journeys:note_add": Case(
        "p", "curator_c", get=None, post=lambda w: {"text": "Called, will book"}
    ),
    "journeys:plan_detail": Case("plan", "curator_c"),
    "journeys:plan_option_add": Case(
        "draft",
        "doctor_c",
        post=lambda w: {
            "option-title": "Aligners",
            "option-cost_estimate": "1000",
            "option-duration_weeks": "10",
            "stages-TOTAL_FORMS": "1",
            "stages-INITIAL_FORMS": "0",
            "stages-MIN_NUM_FORMS": "1",
            "stages-MAX_NUM_FORMS": "1000",
            "stages-0-title": "Scan",
            "stages-0-specialty": w.service.specialty_id,
            "stages-0-offset_days": "0",
            "stages-0-window_days": "14",
        },
    ),
    "journeys:plan_propose": Case("draft", "doctor_c", get=None, post=lambda w: {}),
    "journeys:plan_choose": Case(
        "proposed", "curator_c", get=None, post=lambda w: {"option": w.proposed_option.pk}
    ),
    "journeys:plan_abandon": Case(
        "plan", "curator_c", get=None, post=lambda w: {"reason": "Moved away"}
    ),
    "journeys:plan_change_doctor": Case(
        "plan",
        "curator_c",
        get=None,
        post=lambda w: {"doctor": w.other_doctor_c.pk, "handover_note": "Over to you"},
    ),
    "journeys:visit_complete": Case(
        "visit",
        "doctor_c",
        post=lambda w: {"next_step": "finish", "price_charged": "1000", "observation_months": 6},
    ),
    "journeys:visit_complete_slots": Case("visit", "doctor_c"),
    "journeys:visit_detail_partial": Case("visit", "doctor_c"),
    "journeys:visit_move": Case("visit_c", "admin_c", post=_visit_move),
    "journeys:visit_cancel": Case(
        "visit_c", "admin_c", post=lambda w: {"by": "patient", "reason": "Ill"}
    ),
    "journeys:visit_status": Case(
        "visit_c", "admin_c", get=None, post=lambda w: {"action": "confirm"}
    ),
    # Undoing needs a status step made a moment before, which the sweep's world has not;
    # the carer's undo is tested in tests/journeys/test_visit_undo.py.
    "journeys:visit_undo": Case("visit_c", None, get=None, post=lambda w: {"step": 1}),
    "journeys:visit_checklists": Case("visit", "doctor_c"),
    "journeys:checklist_item_toggle": Case(
        "visit", "doctor_c", get=None, post=lambda w: {"done": "1"}, extra={"item_id": "item"}
    ),
    "journeys:task_close": Case(
        "task", "curator_c", get=None, post=lambda w: {"outcome": "Booked for Monday"}
    ),
    "journeys:task_attempt": Case("task", "curator_c", get=None, post=lambda w: {"note": "busy"}),
    "journeys:task_assign": Case(
        "task", "curator_c", get=None, post=lambda w: {"assignee": w.curator_a.pk}
    ),
    # Managers only, and managers read every patient: other roles get 403.
    "messaging:retry": Case("message", None, get=None),
    "feedback_staff:response_reasons": Case(
        "response", "curator_c", get=None, post=lambda w: {"reasons": ["price"], "next": "/"}
    ),
    # The front desk of the visit's branch asks for its tablet code; nobody has a care
    # relationship that lets them print another branch's slip.
    "kiosk:visit_code": Case("visit_c", None, get=None),
}
# URLs with an id that names no patient's record.
NOT_PATIENT_DATA = {
    "staff:reset_2fa",
    "staff:staff_edit",
    "staff:staff_deactivate",
    "staff:staff_reactivate",
    "staff:staff_invitation_resend",
    "improvements:branch",  # the public "you said, we did" of a branch
    "kiosk:device_revoke",  # a tablet, not a patient
    "kiosk:device_pairing",
}

KWARG_OBJECTS = {
    "patient_id",
    "plan_id",
    "visit_id",
    "task_id",
    "message_id",
    "item_id",
    "response_id",
}


def _object_urls() -> dict[str, str]:
    """Every named route with an int id, by name (the admin's are swept separately)."""
    routes = {}
    for route, name in walk_urls(get_resolver().url_patterns):
        if "<int:" in route and not route.startswith("admin/"):
            routes[name] = route
    return routes


def _url(w: World, name: str, case: Case) -> str:
    from django.urls import reverse

    obj = getattr(w, case.obj)
    route = _object_urls()[name]
    kwargs = {}
    for kwarg in KWARG_OBJECTS:
        if f":{kwarg}>" in route:
            attr = case.extra.get(kwarg)
            kwargs[kwarg] = getattr(w, attr).pk if attr else obj.pk
    return reverse(name, kwargs=kwargs)


def test_every_object_url_is_swept():
    assert set(_object_urls()) == set(CASES) | NOT_PATIENT_DATA


def _assert_nothing_told(response, w: World, url: str) -> None:
    assert response.status_code in (403, 404, 405), f"{url} answered {response.status_code}"
    body = response.content.decode(errors="replace")
    assert w.p.last_name not in body, url
    assert w.p.phone not in body, url


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.CURATOR, Role.ADMINISTRATOR])
@pytest.mark.parametrize("name", sorted(CASES))
def test_staff_of_another_branch_get_no_data_and_change_nothing(world, name, role):
    case = CASES[name]
    client = verified_client_for(world.attackers[role])
    url = _url(world, name, case)
    before = fingerprint()
    _assert_nothing_told(client.get(url), world, url)
    # The POST a carer would send, so that a refusal is what stops it.
    data = case.post(world) if case.post else {}
    _assert_nothing_told(client.post(url, data), world, url)
    _assert_nothing_told(client.post(url, data, headers={"HX-Request": "true"}), world, url)
    assert fingerprint() == before, f"{url} changed data for {role} of another branch"


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.carer))
def test_staff_in_the_patient_s_care_in_another_branch_have_access(world, name):
    case = CASES[name]
    client = verified_client_for(getattr(world, case.carer))
    url = _url(world, name, case)
    if case.get is not None:
        response = client.get(url)
        assert response.status_code in case.get, f"{url} answered {response.status_code}"
    if case.post is not None:
        before = fingerprint()
        response = client.post(url, case.post(world))
        assert response.status_code in case.post_ok, f"{url} answered {response.status_code}"
        assert fingerprint() != before, f"{url}: the carer's POST changed nothing"


def test_admin_pages_of_patient_records_refuse_staff_without_admin_access(world):
    """The technical admin's patient pages (for managers, who read every patient) send
    anyone else to the admin login, whatever the id."""
    client = verified_client_for(world.attackers[Role.ADMINISTRATOR])
    for path in (
        f"/admin/patients/patient/{world.p.pk}/change/",
        "/admin/patients/patient/",
        f"/admin/patients/consentrecord/?patient__id__exact={world.p.pk}",
        f"/admin/patients/familygroup/{world.family.pk}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
