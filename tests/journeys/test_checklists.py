"""Visit checklists: who ticks what, which visits a checklist is used for, the fragment in
the visit panel and on the completion page, and the managers' completion rates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from journeys.errors import JourneyError
from journeys.models import ChecklistCompletion, ChecklistTemplate, Visit
from journeys.selectors_checklists import checklist_completion_rates, visit_checklists
from journeys.services.checklists import checklist_item_toggle
from tests.conftest import HTMX, client_for
from tests.factories import BranchFactory, PatientFactory
from tests.journeys.factories import (
    COMMUNICATION,
    READINESS,
    ServiceFactory,
    VisitFactory,
    items_of,
    make_template,
    moscow,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def checklists(clinic):
    """The readiness checklist (every service) and the communication standard (only the
    clinic's service)."""
    readiness = make_template(
        "Visit readiness", ChecklistTemplate.Audience.ADMINISTRATOR, READINESS
    )
    standard = make_template(
        "Communication standard",
        ChecklistTemplate.Audience.DOCTOR,
        COMMUNICATION,
        services=[clinic.service],
    )
    return readiness, standard


def visit_for(clinic, *, starts_at=None, status=Visit.Status.SCHEDULED, **overrides):
    starts_at = starts_at or (timezone.now() + timedelta(days=1)).replace(
        minute=0, second=0, microsecond=0
    )
    fields = {
        "patient": clinic.patient,
        "doctor": clinic.doctor,
        "branch": clinic.branch,
        "service": clinic.service,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=30),
        "status": status,
        **overrides,
    }
    if status == Visit.Status.COMPLETED:
        fields.setdefault("completed_at", fields["ends_at"])
    return VisitFactory(**fields)


# --- ticking ----------------------------------------------------------------------------


def test_administrator_ticks_and_unticks_a_readiness_item_and_each_change_is_audited(
    clinic, checklists
):
    readiness, _standard = checklists
    visit = visit_for(clinic)
    item = items_of(readiness)[0]

    completion = checklist_item_toggle(actor=clinic.admin, visit=visit, item=item, done=True)

    assert completion.checked_by == clinic.admin
    assert ChecklistCompletion.objects.filter(visit=visit, item=item).exists()
    assert checklist_item_toggle(actor=clinic.admin, visit=visit, item=item, done=False) is None
    assert not ChecklistCompletion.objects.filter(visit=visit).exists()
    events = AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_type="journeys.Visit", object_id=str(visit.pk)
    ).order_by("id")
    assert [e.details["checklist"]["done"] for e in events] == [True, False]
    assert events[0].actor == clinic.admin
    assert events[0].patient_id == clinic.patient.pk


def test_ticking_a_ticked_item_again_changes_nothing(clinic, checklists):
    readiness, _standard = checklists
    visit = visit_for(clinic)
    item = items_of(readiness)[0]
    first = checklist_item_toggle(actor=clinic.admin, visit=visit, item=item, done=True)
    colleague_admin = clinic.admin.__class__.objects.get(pk=clinic.admin.pk)

    again = checklist_item_toggle(actor=colleague_admin, visit=visit, item=item, done=True)

    assert again.pk == first.pk
    assert ChecklistCompletion.objects.filter(visit=visit).count() == 1
    assert (
        AuditEvent.objects.filter(object_id=str(visit.pk), action=AuditAction.UPDATE).count() == 1
    )


def test_doctor_ticks_the_communication_standard_of_their_own_visit(clinic, checklists):
    _readiness, standard = checklists
    visit = visit_for(clinic, status=Visit.Status.ARRIVED)

    checklist_item_toggle(actor=clinic.doctor, visit=visit, item=items_of(standard)[2], done=True)

    assert ChecklistCompletion.objects.get(visit=visit).checked_by == clinic.doctor


@pytest.mark.parametrize(
    ("who", "checklist", "message"),
    [
        ("doctor", 0, "Only administrators tick the items of this checklist."),
        ("admin", 1, "Only doctors tick the items of this checklist."),
        ("manager", 1, "Only doctors tick the items of this checklist."),
        ("curator", 0, "Only administrators tick the items of this checklist."),
        ("surgeon", 1, "Only the doctor who sees the patient ticks this checklist."),
    ],
)
def test_a_role_ticks_only_its_own_checklists(clinic, checklists, who, checklist, message):
    visit = visit_for(clinic)
    item = items_of(checklists[checklist])[0]

    with pytest.raises(JourneyError, match=message):
        checklist_item_toggle(actor=getattr(clinic, who), visit=visit, item=item, done=True)

    assert not ChecklistCompletion.objects.exists()
    assert not AuditEvent.objects.filter(object_id=str(visit.pk)).exists()


def test_checklist_limited_to_some_services_is_neither_shown_nor_tickable_on_others(
    clinic, checklists
):
    readiness, standard = checklists
    x_ray = ServiceFactory(name="Panoramic X-ray", specialty=clinic.ortho)
    visit = visit_for(clinic, service=x_ray)

    shown = visit_checklists(visit=visit)

    assert [c.template for c in shown] == [readiness]  # the standard is for braces checks
    with pytest.raises(JourneyError, match="is not used for this service"):
        checklist_item_toggle(
            actor=clinic.doctor, visit=visit, item=items_of(standard)[0], done=True
        )
    braces_visit = visit_for(clinic, starts_at=visit.starts_at + timedelta(hours=2))
    assert [c.template for c in visit_checklists(visit=braces_visit)] == [readiness, standard]


@pytest.mark.parametrize(
    "status", [Visit.Status.CANCELLED_BY_PATIENT, Visit.Status.CANCELLED_BY_CLINIC]
)
def test_cancelled_visit_cannot_be_ticked(clinic, checklists, status):
    readiness, _standard = checklists
    visit = visit_for(clinic, status=status)

    with pytest.raises(JourneyError, match="The visit is cancelled"):
        checklist_item_toggle(
            actor=clinic.admin, visit=visit, item=items_of(readiness)[0], done=True
        )
    assert not ChecklistCompletion.objects.exists()


def test_retired_checklist_is_hidden_and_refused(clinic, checklists):
    readiness, standard = checklists
    ChecklistTemplate.objects.filter(pk=readiness.pk).update(is_active=False)
    readiness.refresh_from_db()
    visit = visit_for(clinic)

    assert [c.template for c in visit_checklists(visit=visit)] == [standard]
    with pytest.raises(JourneyError, match="no longer in use"):
        checklist_item_toggle(
            actor=clinic.admin, visit=visit, item=items_of(readiness)[0], done=True
        )


def test_visit_checklists_lists_items_in_order_with_ticks_in_three_queries(
    clinic, checklists, django_assert_num_queries
):
    readiness, standard = checklists
    visit = visit_for(clinic, status=Visit.Status.ARRIVED)
    checklist_item_toggle(actor=clinic.admin, visit=visit, item=items_of(readiness)[1], done=True)
    checklist_item_toggle(actor=clinic.doctor, visit=visit, item=items_of(standard)[0], done=True)
    other = visit_for(clinic, starts_at=visit.starts_at + timedelta(hours=3))
    checklist_item_toggle(actor=clinic.admin, visit=other, item=items_of(readiness)[0], done=True)

    with django_assert_num_queries(3):
        shown = visit_checklists(visit=visit)
        lines = [(line.item.text, line.done) for c in shown for line in c.lines]
        ticked_by = [
            str(line.completion.checked_by) for c in shown for line in c.lines if line.done
        ]

    assert lines == [
        (READINESS[0], False),
        (READINESS[1], True),
        (READINESS[2], False),
        (COMMUNICATION[0], True),
        (COMMUNICATION[1], False),
        (COMMUNICATION[2], False),
        (COMMUNICATION[3], False),
    ]
    assert ticked_by == [str(clinic.admin), str(clinic.doctor)]
    assert [c.done_count for c in shown] == [1, 1]
    assert [c.template for c in visit_checklists(visit=visit, audience="doctor")] == [standard]


# --- completion rates ----------------------------------------------------------------------


def test_rates_on_a_hand_made_example(clinic, checklists):
    """Four completed visits in the period; "Asked whether there are questions" ticked on
    three → 75 %. Visits outside the period, not completed, or of another service (for
    the standard) don't count."""
    readiness, standard = checklists
    today = timezone.localdate()
    day_from, day_to = today - timedelta(days=9), today
    visits = [
        visit_for(clinic, starts_at=moscow(day_from + timedelta(days=n), 10), status="completed")
        for n in range(4)
    ]
    question = items_of(standard)[2]
    for visit in visits[:3]:
        ChecklistCompletion.objects.create(visit=visit, item=question, checked_by=clinic.doctor)
    # every item of the standard on the first visit: the whole checklist done once
    for item in items_of(standard):
        ChecklistCompletion.objects.get_or_create(
            visit=visits[0], item=item, defaults={"checked_by": clinic.doctor}
        )
    ChecklistCompletion.objects.create(
        visit=visits[1], item=items_of(readiness)[0], checked_by=clinic.admin
    )
    # not counted: before the period, still scheduled, another service
    before = visit_for(
        clinic, starts_at=moscow(day_from - timedelta(days=1), 10), status="completed"
    )
    ChecklistCompletion.objects.create(visit=before, item=question, checked_by=clinic.doctor)
    visit_for(clinic, starts_at=moscow(day_to, 9), status=Visit.Status.SCHEDULED)
    x_ray = ServiceFactory(name="Panoramic X-ray", specialty=clinic.ortho)
    visit_for(clinic, starts_at=moscow(day_to, 12), status="completed", service=x_ray)

    rates = {
        r.template.pk: r for r in checklist_completion_rates(date_from=day_from, date_to=day_to)
    }

    standard_rate = rates[standard.pk]
    assert standard_rate.visits == 4
    assert [(i.item.text, i.ticked, i.visits) for i in standard_rate.items] == [
        (COMMUNICATION[0], 1, 4),
        (COMMUNICATION[1], 1, 4),
        (COMMUNICATION[2], 3, 4),
        (COMMUNICATION[3], 1, 4),
    ]
    assert standard_rate.items[2].rate == 75.0
    assert standard_rate.complete_visits == 1
    assert standard_rate.rate == 25.0
    readiness_rate = rates[readiness.pk]
    assert readiness_rate.visits == 5  # the X-ray visit too: readiness is for every service
    assert [i.ticked for i in readiness_rate.items] == [1, 0, 0]
    assert readiness_rate.items[0].rate == 20.0
    assert readiness_rate.complete_visits == 0


def test_rates_count_the_visit_day_in_the_branch_time_zone(clinic, checklists):
    """01:30 in Moscow on the first day of the period is still the day before in UTC;
    23:30 in Moscow on the day after the period is already that day in UTC too."""
    readiness, _standard = checklists
    day = date(2026, 3, 10)
    visit_for(clinic, starts_at=moscow(day, 1, 30), status="completed")
    visit_for(clinic, starts_at=moscow(day + timedelta(days=1), 0, 30), status="completed")

    (rate,) = [
        r for r in checklist_completion_rates(date_from=day, date_to=day) if r.template == readiness
    ]
    assert rate.visits == 1


def test_rates_by_branch(clinic, checklists):
    readiness, _standard = checklists
    other_branch = BranchFactory(name="North")
    today = timezone.localdate()
    here = visit_for(clinic, starts_at=moscow(today - timedelta(days=1), 10), status="completed")
    visit_for(
        clinic,
        starts_at=moscow(today - timedelta(days=1), 12),
        status="completed",
        branch=other_branch,
        patient=PatientFactory(home_branch=other_branch),
    )
    ChecklistCompletion.objects.create(
        visit=here, item=items_of(readiness)[0], checked_by=clinic.admin
    )
    period = {"date_from": today - timedelta(days=7), "date_to": today}

    everywhere = checklist_completion_rates(**period)[0]
    central = checklist_completion_rates(**period, branch_id=clinic.branch.pk)[0]
    north = checklist_completion_rates(**period, branch_id=other_branch.pk)[0]

    assert (everywhere.visits, everywhere.items[0].ticked) == (2, 1)
    assert (central.visits, central.items[0].rate) == (1, 100.0)
    assert (north.visits, north.items[0].rate) == (1, 0.0)


def test_rates_without_visits_have_no_rate(clinic, checklists):
    today = timezone.localdate()
    rates = checklist_completion_rates(date_from=today, date_to=today)
    assert [r.visits for r in rates] == [0, 0]
    assert rates[0].rate is None
    assert rates[0].items[0].rate is None


# --- the visit fragment ----------------------------------------------------------------------


def fragment_url(visit, audience=""):
    url = reverse("journeys:visit_checklists", args=[visit.pk])
    return f"{url}?audience={audience}" if audience else url


def toggle_url(visit, item):
    return reverse("journeys:checklist_item_toggle", args=[visit.pk, item.pk])


def test_visit_panel_and_completion_page_load_the_checklists(clinic, checklists):
    visit = visit_for(clinic, starts_at=timezone.now() - timedelta(minutes=10), status="arrived")

    panel = client_for(clinic.admin).get(
        reverse("journeys:visit_detail_partial", args=[visit.pk]), **HTMX
    )
    complete = client_for(clinic.doctor).get(reverse("journeys:visit_complete", args=[visit.pk]))

    assert f'hx-get="{fragment_url(visit)}"' in panel.content.decode()
    assert f'hx-get="{fragment_url(visit, "doctor")}"' in complete.content.decode()


def test_administrator_sees_both_checklists_and_may_tick_only_the_readiness_one(clinic, checklists):
    readiness, standard = checklists
    visit = visit_for(clinic)
    ChecklistCompletion.objects.create(
        visit=visit, item=items_of(readiness)[0], checked_by=clinic.admin
    )

    response = client_for(clinic.admin).get(fragment_url(visit), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-testid="checklist"') == 2
    assert "Visit readiness" in page
    assert "Communication standard" in page
    assert page.count("hx-post=") == len(READINESS)
    assert page.count(" disabled>") == len(COMMUNICATION)
    assert 'data-done="true"' in page
    assert ">1/3<" in page


def test_completion_page_fragment_shows_only_the_doctors_checklist(clinic, checklists):
    visit = visit_for(clinic, status=Visit.Status.ARRIVED)

    page = client_for(clinic.doctor).get(fragment_url(visit, "doctor"), **HTMX).content.decode()

    assert page.count('data-testid="checklist"') == 1
    assert "Communication standard" in page
    assert "Visit readiness" not in page
    assert page.count("hx-post=") == len(COMMUNICATION)


def test_tick_over_htmx_answers_with_the_row_and_the_counter(clinic, checklists):
    _readiness, standard = checklists
    visit = visit_for(clinic, status=Visit.Status.ARRIVED)
    item = items_of(standard)[3]

    response = client_for(clinic.doctor).post(toggle_url(visit, item), {"done": "1"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="checklist-item-{visit.pk}-{item.pk}"' in page
    assert 'data-done="true"' in page
    assert '"done": "0"' in page  # the next click unticks
    assert 'hx-swap-oob="true"' in page
    assert ">1/4<" in page
    assert ChecklistCompletion.objects.get(visit=visit).item == item

    client_for(clinic.doctor).post(toggle_url(visit, item), {"done": "0"}, **HTMX)
    assert not ChecklistCompletion.objects.exists()


def test_wrong_role_is_refused_with_a_message_and_nothing_is_saved(clinic, checklists):
    readiness, _standard = checklists
    visit = visit_for(clinic)

    response = client_for(clinic.doctor).post(
        toggle_url(visit, items_of(readiness)[0]), {"done": "1"}, **HTMX
    )

    page = response.content.decode()
    assert 'data-testid="checklist-error"' in page
    assert "Only administrators tick the items of this checklist." in page
    assert 'data-done="false"' in page
    assert not ChecklistCompletion.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CURATOR])
def test_roles_that_never_tick_get_403(clinic, checklists, role):
    readiness, _standard = checklists
    visit = visit_for(clinic)
    user = clinic.manager if role == Role.MANAGER else clinic.curator

    response = client_for(user).post(toggle_url(visit, items_of(readiness)[0]), {"done": "1"})

    assert response.status_code == 403
    assert not ChecklistCompletion.objects.exists()


def test_curator_cannot_read_the_fragment_and_manager_reads_it_without_checkboxes(
    clinic, checklists
):
    visit = visit_for(clinic)
    assert client_for(clinic.curator).get(fragment_url(visit)).status_code == 403
    page = client_for(clinic.manager).get(fragment_url(visit)).content.decode()
    assert page.count('data-testid="checklist-item"') == len(READINESS) + len(COMMUNICATION)
    assert "hx-post=" not in page


def test_doctor_of_another_branch_cannot_open_the_fragment(clinic, checklists, make_staff):
    """Another branch's visit does not exist for them (404, not 403: nothing is told)."""
    visit = visit_for(clinic)
    stranger = make_staff(Role.DOCTOR, branch=BranchFactory(name="Far away"))
    assert client_for(stranger).get(fragment_url(visit)).status_code == 404


def test_cancelled_visit_shows_closed_checklists(clinic, checklists):
    visit = visit_for(clinic, status=Visit.Status.CANCELLED_BY_PATIENT)
    page = client_for(clinic.admin).get(fragment_url(visit)).content.decode()
    assert "hx-post=" not in page
    assert "its checklists are closed" in page


def test_panel_fragment_costs_the_same_queries_for_any_number_of_checklists_and_ticks(
    clinic, make_staff, django_assert_max_num_queries
):
    def build(templates, items_each):
        visit = visit_for(
            clinic, starts_at=timezone.now() + timedelta(days=templates), status="arrived"
        )
        for n in range(templates):
            audience = ["administrator", "doctor"][n % 2]
            template = make_template(
                f"List {templates}-{n}", audience, [f"Step {k}" for k in range(items_each)]
            )
            for item in items_of(template)[::2]:
                by = clinic.admin if audience == "administrator" else clinic.doctor
                ChecklistCompletion.objects.create(visit=visit, item=item, checked_by=by)
        return visit

    small, large = build(2, 3), build(10, 12)
    client = client_for(clinic.doctor)
    counts = []
    for visit in (small, large):
        with django_assert_max_num_queries(13) as captured:  # 12 reads and the audit row
            response = client.get(fragment_url(visit), **HTMX)
        assert response.status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- the managers' rates page -----------------------------------------------------------------


def rates_url(**params):
    from urllib.parse import urlencode

    url = reverse("journeys:checklist_rates")
    return f"{url}?{urlencode(params)}" if params else url


def test_manager_sees_rates_with_bars_for_the_last_30_days_by_default(clinic, checklists):
    _readiness, standard = checklists
    today = timezone.localdate()
    visits = [
        visit_for(clinic, starts_at=moscow(today - timedelta(days=d), 10), status="completed")
        for d in (1, 2, 3, 4)
    ]
    old = visit_for(clinic, starts_at=moscow(today - timedelta(days=40), 10), status="completed")
    question = items_of(standard)[2]
    for visit in [*visits[:3], old]:
        ChecklistCompletion.objects.create(visit=visit, item=question, checked_by=clinic.doctor)

    response = client_for(clinic.manager).get(rates_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert "Checklist completion" in page
    assert f'data-item-id="{question.pk}" data-ticked="3" data-visits="4"' in page
    assert 'data-rate="75.0"' in page
    assert "width: 75.0%" in page
    assert "75 %" in page
    assert (today - timedelta(days=29)).strftime("%d.%m.%Y") in page
    assert 'href="/checklists/"' in page  # the navigation entry


def test_rates_page_filters_by_period_and_branch_over_htmx(clinic, checklists):
    readiness, _standard = checklists
    visit = visit_for(clinic, starts_at=moscow(date(2026, 1, 15), 10), status="completed")
    ChecklistCompletion.objects.create(
        visit=visit, item=items_of(readiness)[0], checked_by=clinic.admin
    )
    client = client_for(clinic.manager)

    response = client.get(
        rates_url(date_from="2026-01-01", date_to="2026-01-31", branch=clinic.branch.pk),
        HTTP_HX_TARGET="checklist-rates",
        **HTMX,
    )

    page = response.content.decode()
    assert "<html" not in page
    assert "01.01.2026 – 31.01.2026 · Central" in page
    assert f'data-item-id="{items_of(readiness)[0].pk}" data-ticked="1" data-visits="1"' in page
    bad = client.get(rates_url(date_from="2026-02-01", date_to="2026-01-01")).content.decode()
    assert "“From” must not be after “To”." in bad


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.DOCTOR, Role.CURATOR])
def test_rates_page_is_for_managers_only(clinic, role):
    user = {Role.ADMINISTRATOR: clinic.admin, Role.DOCTOR: clinic.doctor}.get(role, clinic.curator)
    assert client_for(user).get(rates_url()).status_code == 403


@pytest.mark.parametrize("visits", [2, 20])
def test_rates_page_costs_the_same_queries_for_any_number_of_visits(
    clinic, checklists, visits, django_assert_max_num_queries
):
    readiness, standard = checklists
    today = timezone.localdate()
    for n in range(visits):
        visit = visit_for(
            clinic, starts_at=moscow(today - timedelta(days=1 + n), 10), status="completed"
        )
        for item in [*items_of(readiness)[: n % 4], *items_of(standard)[: n % 5]]:
            ChecklistCompletion.objects.create(visit=visit, item=item, checked_by=clinic.doctor)

    client = client_for(clinic.manager)
    with django_assert_max_num_queries(11):
        response = client.get(rates_url())

    assert response.content.decode().count('data-testid="rate-item"') == 7


def test_manager_edits_checklists_in_the_admin_site(clinic):
    client = client_for(clinic.manager)
    assert client.get(reverse("admin:journeys_checklisttemplate_changelist")).status_code == 200
    response = client.post(
        reverse("admin:journeys_checklisttemplate_add"),
        {
            "name": "Visit readiness",
            "audience": "administrator",
            "is_active": "on",
            "items-TOTAL_FORMS": "2",
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000",
            "items-0-position": "1",
            "items-0-text": "Reminder confirmed",
            "items-1-position": "2",
            "items-1-text": "Card and X-rays ready",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    template = ChecklistTemplate.objects.get()
    assert [i.text for i in items_of(template)] == ["Reminder confirmed", "Card and X-rays ready"]
    assert client_for(clinic.admin).get("/admin/").status_code == 302  # not admin-site staff


def test_demo_data_has_both_checklists_with_believable_rates_for_the_last_30_days():
    from django.core.management import call_command

    call_command("seed_demo", "--patients", "70")
    today = timezone.localdate()

    rates = checklist_completion_rates(date_from=today - timedelta(days=29), date_to=today)

    by_audience = {r.template.audience: r for r in rates}
    assert set(by_audience) == {"administrator", "doctor"}
    assert by_audience["administrator"].visits >= 12
    assert by_audience["doctor"].visits < by_audience["administrator"].visits  # not check-ups
    items = [item for rate in rates for item in rate.items]
    assert all(0 < item.ticked <= item.visits for item in items)
    assert len({item.rate for item in items}) > 3  # some items are kept better than others
