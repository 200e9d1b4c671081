"""Every page that shows patient data writes an audit row naming the patient.

Each GET-able URL of the app is classified here — it reads patient data, or it shows
none, or it only takes POSTs (whose changes the services audit). A new URL that is not
classified fails the first test, so reading auditing can't be forgotten.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from journeys.patient_links import calendar_path, feel_link_url, visit_link_url
from tests.conftest import verified_client_for
from tests.helpers import walk_urls

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def _day(w):
    return timezone.localtime(w.visit_c.starts_at).date().isoformat()


# url name -> (who reads it, the URL, extra headers)
READS = {
    "patients:list": ("curator_c", lambda w: "/patients/?q=Секретова", {}),
    "patients:detail": ("curator_c", lambda w: reverse("patients:detail", args=[w.p.pk]), {}),
    "patients:edit": ("curator_c", lambda w: reverse("patients:edit", args=[w.p.pk]), {}),
    "patients:merge": ("admin_c", lambda w: reverse("patients:merge", args=[w.p.pk]), {}),
    "api:api_patient_list": ("doctor_c", lambda w: "/api/patients/?q=Секретова", {}),
    "api:api_patient_detail": ("doctor_c", lambda w: f"/api/patients/{w.p.pk}/", {}),
    "journeys:calendar_day": (
        "admin_c",
        lambda w: f"{reverse('journeys:calendar_day')}?branch={w.c.pk}&date={_day(w)}",
        {},
    ),
    "journeys:calendar_week": (
        "admin_c",
        lambda w: f"{reverse('journeys:calendar_week')}?branch={w.c.pk}&date={_day(w)}",
        {},
    ),
    "journeys:slot_search": (
        "admin_c",
        lambda w: f"{reverse('journeys:slot_search')}?branch={w.c.pk}&patient={w.p.pk}",
        {},
    ),
    "journeys:scheduling_patient_search": (
        "admin_c",
        lambda w: f"{reverse('journeys:scheduling_patient_search')}?patient_q=Секретова",
        HX,
    ),
    "journeys:visit_book": (
        "admin_c",
        lambda w: f"{reverse('journeys:visit_book')}?branch={w.c.pk}&patient={w.p.pk}",
        HX,
    ),
    "journeys:visit_detail_partial": (
        "doctor_c",
        lambda w: reverse("journeys:visit_detail_partial", args=[w.visit.pk]),
        HX,
    ),
    "journeys:visit_move": (
        "admin_c",
        lambda w: reverse("journeys:visit_move", args=[w.visit_c.pk]),
        HX,
    ),
    "journeys:visit_cancel": (
        "admin_c",
        lambda w: reverse("journeys:visit_cancel", args=[w.visit_c.pk]),
        HX,
    ),
    "journeys:timeline": ("doctor_c", lambda w: reverse("journeys:timeline", args=[w.p.pk]), {}),
    "journeys:plan_create": (
        "doctor_c",
        lambda w: reverse("journeys:plan_create", args=[w.p.pk]),
        {},
    ),
    "journeys:plan_detail": (
        "curator_c",
        lambda w: reverse("journeys:plan_detail", args=[w.plan.pk]),
        {},
    ),
    "journeys:plan_option_add": (
        "doctor_c",
        lambda w: reverse("journeys:plan_option_add", args=[w.draft.pk]),
        {},
    ),
    "journeys:visit_complete": (
        "doctor_c",
        lambda w: reverse("journeys:visit_complete", args=[w.visit.pk]),
        {},
    ),
    "journeys:visit_complete_slots": (
        "doctor_c",
        lambda w: reverse("journeys:visit_complete_slots", args=[w.visit.pk]),
        HX,
    ),
    "journeys:worklist": ("curator_c", lambda w: reverse("journeys:worklist"), {}),
    "journeys:routing_queue": ("admin_a", lambda w: reverse("journeys:routing_queue"), {}),
    "journeys:visit_checklists": (
        "doctor_c",
        lambda w: reverse("journeys:visit_checklists", args=[w.visit.pk]),
        HX,
    ),
    "journeys:patient_calendar": (None, lambda w: calendar_path(patient_id=w.p.pk), {}),
    "journeys:visit_answer": (None, lambda w: urlsplit(visit_link_url(visit=w.visit_c)).path, {}),
    "journeys:feel_answer": (None, lambda w: urlsplit(feel_link_url(visit=w.visit)).path, {}),
    "messaging:outbox": ("manager", lambda w: reverse("messaging:outbox"), {}),
    "audit:list": ("manager", lambda w: f"{reverse('audit:list')}?patient_id={w.p.pk}", {}),
    "staff:home": ("doctor_c", lambda w: reverse("staff:home"), {}),
}
# Pages about one visit of the patient that don't print the name.
ABOUT_A_VISIT = {
    "journeys:visit_checklists",
    "journeys:visit_complete_slots",
    "journeys:feel_answer",
    "journeys:visit_answer",
}
# Pages that show no patient's data (staff, aggregates, ids only, empty forms).
NO_PATIENT_DATA = {
    "healthz",
    "set_language",
    "messaging:template_preview",  # an invented example patient
    "messaging:optout",  # names nobody
    "messaging:delivery_callback",
    "patients:create",
    "metrics:report",
    "metrics:dashboard",
    "metrics:dashboard_export",  # aggregates; audited as an export
    "journeys:checklist_rates",
    "feedback_staff:reason_agreement",  # counts per reason
    "metrics:weekly",  # weeks and counts
    "metrics:weekly_detail",  # counts per reason and group, comments without names
    "improvements:clinic",  # the clinic's public "you said, we did"
    "improvements:branch",
    "kiosk:start",  # the tablet's neutral screen
    "kiosk:pair",
    "kiosk:devices",  # tablets, not patients
    "kiosk:current",  # a link, no name
    "staff:login",
    "staff:otp",
    "staff:enrol",
    "staff:backup_codes",
    "staff:logout",
    "staff:staff_list",
    "staff:staff_add",
    "staff:staff_edit",
    "staff:set_password",  # the invited member's own link
}
# A patient's own survey or pre-visit questionnaire link: its GET must write nothing (a
# link-preview bot that fetches it records nothing, tests/feedback/test_survey_page.py),
# it shows only the patient's first name and the visit's date, and each answer (a POST)
# is audited.
NO_WRITE_ON_GET = {"feedback:survey", "journeys:screening"}
# The clinic tablet's pages need a paired tablet, not a staff login: their read rows are
# asserted in tests/feedback/test_kiosk.py (the survey greets by first name: audited; the
# front desk's list of today's surveys: a list read).
KIOSK_READS = {"kiosk:survey", "kiosk:visits"}
# POST only: the services audit what they change.
POST_ONLY = {
    "feedback:survey_opened",  # the page's own beacon; writes only the time it was opened
    "kiosk:answer",
    "kiosk:push",
    "kiosk:visit_code",
    "kiosk:device_revoke",
    "kiosk:device_pairing",
    "messaging:retry",
    "patients:consent_record",
    "patients:family_link",
    "patients:family_unlink",
    "journeys:note_add",
    "journeys:plan_propose",
    "journeys:plan_choose",
    "journeys:plan_abandon",
    "journeys:plan_change_doctor",
    "journeys:visit_status",
    "journeys:visit_undo",
    "journeys:task_close",
    "journeys:task_attempt",
    "journeys:task_assign",
    "journeys:tasks_close",
    "journeys:tasks_assign",
    "journeys:checklist_item_toggle",
    "feedback_staff:response_reasons",
    "staff:reset_2fa",
    "staff:staff_deactivate",
    "staff:staff_reactivate",
    "staff:staff_invitation_resend",
}


def test_every_page_is_classified():
    names = {
        name for route, name in walk_urls(get_resolver().url_patterns) if "admin/" not in route
    }
    assert names == set(READS) | NO_PATIENT_DATA | POST_ONLY | NO_WRITE_ON_GET | KIOSK_READS


@pytest.fixture
def readers(world, make_staff):
    world.manager = make_staff(Role.MANAGER, branch=world.c)
    world.admin_a = make_staff(Role.ADMINISTRATOR, branch=world.a)
    return world


def _names_the_patient(event: AuditEvent, patient_id: int) -> bool:
    return event.patient_id == patient_id or patient_id in event.details.get("patient_ids", [])


@pytest.mark.parametrize("name", sorted(READS))
def test_each_page_with_patient_data_writes_a_read_row_naming_the_patient(readers, name, client):
    who, url_for, headers = READS[name]
    w = readers
    reader = client if who is None else verified_client_for(getattr(w, who))
    url = url_for(w)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = reader.get(url, headers=headers)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    body = response.content.decode()
    if name not in ABOUT_A_VISIT:
        assert w.p.first_name in body, f"{url} does not show the patient"
    reads = AuditEvent.objects.filter(id__gt=last, action=AuditAction.READ)
    assert any(_names_the_patient(e, w.p.pk) for e in reads), f"{url} wrote no read row"


def test_the_timeline_fragment_is_audited_too(readers):
    w = readers
    client = verified_client_for(w.doctor_c)
    url = reverse("journeys:timeline", args=[w.p.pk]) + "?fragment=events"
    before = AuditEvent.objects.filter(patient_id=w.p.pk, action=AuditAction.READ).count()
    assert client.get(url, headers=HX).status_code == 200
    assert AuditEvent.objects.filter(patient_id=w.p.pk, action=AuditAction.READ).count() == (
        before + 1
    )


def test_admin_pages_of_patient_data_are_audited(readers, make_staff):
    """The technical admin (managers) lists and opens cards and consents: audited."""
    w = readers
    manager = make_staff(Role.MANAGER)
    client = verified_client_for(manager)
    for path, check in (
        ("/admin/patients/patient/", lambda e: w.p.pk in e.details.get("patient_ids", [])),
        (f"/admin/patients/patient/{w.p.pk}/change/", lambda e: e.patient_id == w.p.pk),
        ("/admin/patients/familygroup/", lambda e: True),
    ):
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        assert client.get(path).status_code == 200, path
        reads = AuditEvent.objects.filter(id__gt=last, action=AuditAction.READ)
        assert any(check(e) for e in reads), path
