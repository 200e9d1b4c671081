"""The calendar pages and the HTMX booking, moving, cancelling and status endpoints:
who may use them, what a user sees, and what they cost in queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from clinic_crm.audit.models import AuditAction, AuditEvent
from clinic_crm.staff.roles import Role
from journeys.models import Visit
from journeys.services.visits import visit_book
from tests.conftest import HTMX, client_for
from tests.factories import BranchFactory, PatientFactory
from tests.journeys.factories import VisitFactory, future_day, make_doctor

pytestmark = pytest.mark.django_db


def calendar_url(clinic, day):
    return f"{reverse('journeys:calendar_day')}?branch={clinic.branch.pk}&date={day:%Y-%m-%d}"


def book_data(clinic, day, hhmm="10:00", **overrides):
    data = {
        "patient": clinic.patient.pk,
        "branch": clinic.branch.pk,
        "doctor": clinic.doctor.pk,
        "service": clinic.service.pk,
        "date": f"{day:%Y-%m-%d}",
        "time": hhmm,
    }
    data.update(overrides)
    return data


def booked(clinic, day, hhmm="10:00", patient=None):
    return visit_book(
        actor=clinic.admin,
        patient=patient or clinic.patient,
        doctor=clinic.doctor,
        branch=clinic.branch,
        service=clinic.service,
        starts_at=clinic.at(day, hhmm),
    )


# --- the day and week calendars ---------------------------------------------------------


def test_administrator_sees_doctors_as_columns_with_visits_and_free_cells(scheduling_clinic):
    day = future_day()
    booked(scheduling_clinic, day, "10:00")
    response = client_for(scheduling_clinic.admin).get(calendar_url(scheduling_clinic, day))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="doctor-column"' in page
    assert "Anna Petrova" in page
    assert "Ivanov Pavel" in page
    assert 'data-status="scheduled"' in page
    assert page.count('data-testid="free-cell"') == 12 * 4 - 2  # 08–20 minus the visit
    assert reverse("journeys:visit_book") in page


def test_day_calendar_shows_a_day_off_and_no_free_cells(scheduling_clinic):
    day = future_day()
    scheduling_clinic.doctor.schedule_exceptions.create(starts_on=day, ends_on=day, kind="sick")
    page = (
        client_for(scheduling_clinic.admin)
        .get(calendar_url(scheduling_clinic, day))
        .content.decode()
    )
    assert "Sick day" in page
    assert 'data-testid="free-cell"' not in page


@pytest.mark.parametrize(("doctors", "visits_each"), [(3, 5), (8, 20)])
def test_day_calendar_costs_the_same_queries_for_any_number_of_doctors_and_visits(
    make_staff, scheduling_clinic, doctors, visits_each, django_assert_max_num_queries
):
    day = future_day()
    team = [scheduling_clinic.doctor] + [
        make_doctor(
            make_staff,
            branch=scheduling_clinic.branch,
            specialty=scheduling_clinic.specialty,
            last_name=f"Doctor{n}",
        )
        for n in range(doctors - 1)
    ]
    for doctor in team:
        for k in range(visits_each):
            start = scheduling_clinic.at(day, "08:00") + timedelta(minutes=30 * k)
            VisitFactory(
                doctor=doctor,
                branch=scheduling_clinic.branch,
                service=scheduling_clinic.service,
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
            )
    client = client_for(scheduling_clinic.admin)
    # Eleven reads and the audit row naming the patients shown.
    with django_assert_max_num_queries(12):
        response = client.get(calendar_url(scheduling_clinic, day))
    assert response.content.decode().count('data-testid="visit-block"') == doctors * visits_each
    with django_assert_max_num_queries(12):
        client.get(calendar_url(scheduling_clinic, day), HTTP_HX_TARGET="calendar-grid", **HTMX)


def test_grid_refresh_over_htmx_is_a_partial(scheduling_clinic):
    response = client_for(scheduling_clinic.admin).get(
        calendar_url(scheduling_clinic, future_day()), HTTP_HX_TARGET="calendar-grid", **HTMX
    )
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="calendar-grid"' in body
    assert "HX-Request" in response["Vary"]


def test_day_navigation_over_htmx_swaps_only_the_calendar_body(scheduling_clinic):
    day = future_day()
    response = client_for(scheduling_clinic.admin).get(
        calendar_url(scheduling_clinic, day + timedelta(days=1)),
        HTTP_HX_TARGET="calendar-body",
        HTTP_HX_BOOSTED="true",
        **HTMX,
    )
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="calendar-toolbar"' in body
    assert 'id="calendar-grid"' in body


def test_week_calendar_lists_each_doctors_days(scheduling_clinic, django_assert_max_num_queries):
    day = future_day()
    booked(scheduling_clinic, day, "11:00")
    client = client_for(scheduling_clinic.admin)
    url = (
        f"{reverse('journeys:calendar_week')}"
        f"?branch={scheduling_clinic.branch.pk}&date={day:%Y-%m-%d}"
    )
    with django_assert_max_num_queries(13):  # with the audit row of the patients shown
        response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-testid="week-row"') == 1
    assert "11:00 Ivanov Pavel" in page


def test_doctor_reads_the_calendar_of_their_branch_without_booking(scheduling_clinic, make_staff):
    booked(scheduling_clinic, future_day())
    client = client_for(scheduling_clinic.doctor)
    page = client.get(calendar_url(scheduling_clinic, future_day())).content.decode()
    assert 'data-testid="visit-block"' in page
    assert 'data-testid="free-cell"' not in page

    other = BranchFactory()
    url = f"{reverse('journeys:calendar_day')}?branch={other.pk}"
    assert client.get(url).status_code == 404  # another branch's calendar: no such page


def test_manager_reads_and_curator_cannot_open_the_calendar(scheduling_clinic, make_staff):
    url = calendar_url(scheduling_clinic, future_day())
    assert client_for(make_staff(Role.MANAGER)).get(url).status_code == 200
    assert client_for(make_staff(Role.CURATOR)).get(url).status_code == 403


def test_a_password_only_session_does_not_reach_the_calendar(scheduling_clinic, client):
    client.force_login(scheduling_clinic.admin)
    response = client.get(calendar_url(scheduling_clinic, future_day()))
    assert response.status_code == 302
    assert "/accounts/" in response["Location"]


# --- booking ----------------------------------------------------------------------------


def test_booking_form_is_prefilled_from_the_clicked_cell_and_shows_the_end(scheduling_clinic):
    day = future_day()
    url = (
        f"{reverse('journeys:visit_book')}?branch={scheduling_clinic.branch.pk}&doctor={scheduling_clinic.doctor.pk}"
        f"&date={day:%Y-%m-%d}&time=10:15&service={scheduling_clinic.service.pk}"
    )
    response = client_for(scheduling_clinic.admin).get(url, **HTMX)
    body = response.content.decode()
    assert "<html" not in body
    assert 'value="10:15"' in body
    assert f'value="{day:%Y-%m-%d}"' in body
    assert "10:45" in body  # the computed end of a 30-minute service


def test_administrator_books_over_htmx_and_gets_a_partial(scheduling_clinic):
    day = future_day()
    response = client_for(scheduling_clinic.admin).post(
        reverse("journeys:visit_book"), book_data(scheduling_clinic, day), **HTMX
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="visit-panel"' in body
    assert "The visit is booked." in body
    assert response["HX-Trigger"] == "visits-changed"
    visit = Visit.objects.get()
    assert visit.starts_at == scheduling_clinic.at(day, "10:00")
    assert visit.booked_by == scheduling_clinic.admin


def test_an_overlapping_booking_shows_the_message_in_the_form_and_saves_nothing(scheduling_clinic):
    day = future_day()
    booked(scheduling_clinic, day, "10:00")
    response = client_for(scheduling_clinic.admin).post(
        reverse("journeys:visit_book"),
        book_data(
            scheduling_clinic,
            day,
            "10:15",
            patient=PatientFactory(home_branch=scheduling_clinic.branch).pk,
        ),
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="book-form"' in body
    assert "already has a visit 10:00–10:30" in body
    assert "HX-Trigger" not in response
    assert Visit.objects.count() == 1


def test_a_booking_in_the_past_or_outside_hours_is_explained(scheduling_clinic):
    client = client_for(scheduling_clinic.admin)
    url = reverse("journeys:visit_book")
    body = client.post(url, book_data(scheduling_clinic, future_day(-2)), **HTMX).content.decode()
    assert "already passed" in body
    body = client.post(
        url, book_data(scheduling_clinic, future_day(), "19:45"), **HTMX
    ).content.decode()
    assert "08:00–20:00" in body
    assert not Visit.objects.exists()


def test_a_booking_without_a_patient_asks_for_one(scheduling_clinic):
    data = book_data(scheduling_clinic, future_day())
    del data["patient"]
    body = (
        client_for(scheduling_clinic.admin)
        .post(reverse("journeys:visit_book"), data, **HTMX)
        .content.decode()
    )
    assert "choose them in the list" in body
    assert not Visit.objects.exists()


def test_a_doctor_cannot_book(scheduling_clinic):
    client = client_for(scheduling_clinic.doctor)
    assert client.get(reverse("journeys:visit_book"), **HTMX).status_code == 403
    response = client.post(
        reverse("journeys:visit_book"), book_data(scheduling_clinic, future_day()), **HTMX
    )
    assert response.status_code == 403
    assert not Visit.objects.exists()


def test_patient_search_offers_patients_with_birth_dates(scheduling_clinic):
    PatientFactory(last_name="Ivanova", first_name="Olga", home_branch=scheduling_clinic.branch)
    PatientFactory(last_name="Ivanenko", first_name="Oleg", home_branch=BranchFactory())
    response = client_for(scheduling_clinic.admin).get(
        reverse("journeys:scheduling_patient_search"), {"patient_q": "Ivan"}, **HTMX
    )
    body = response.content.decode()
    assert body.count('data-testid="patient-option"') == 2  # not the other branch's
    assert "Ivanenko" not in body
    assert scheduling_clinic.patient.birth_date.strftime("%d.%m.%Y") in body


# --- the visit panel and its actions ----------------------------------------------------


def test_opening_a_visit_panel_is_audited_as_a_read_of_the_patient(scheduling_clinic):
    visit = booked(scheduling_clinic, future_day())
    response = client_for(scheduling_clinic.admin).get(
        reverse("journeys:visit_detail_partial", args=[visit.pk]), **HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    read = AuditEvent.objects.get(action=AuditAction.READ)
    assert read.patient_id == scheduling_clinic.patient.pk
    assert read.object_id == str(visit.pk)
    assert read.actor == scheduling_clinic.admin


def test_doctor_sees_the_panel_without_action_buttons(scheduling_clinic):
    visit = booked(scheduling_clinic, future_day())
    body = (
        client_for(scheduling_clinic.doctor)
        .get(reverse("journeys:visit_detail_partial", args=[visit.pk]), **HTMX)
        .content.decode()
    )
    assert 'data-testid="visit-panel"' in body
    assert "visit-action-" not in body
    assert (
        client_for(scheduling_clinic.doctor)
        .post(reverse("journeys:visit_status", args=[visit.pk]), {"action": "confirm"}, **HTMX)
        .status_code
        == 403
    )


def test_marking_arrival_over_htmx(scheduling_clinic, time_machine):
    day = future_day()
    visit = booked(scheduling_clinic, day, "10:00")
    time_machine.move_to(scheduling_clinic.at(day, "09:45"), tick=False)
    client = client_for(scheduling_clinic.admin)
    panel = client.get(reverse("journeys:visit_detail_partial", args=[visit.pk]), **HTMX)
    assert 'data-testid="visit-action-arrive"' in panel.content.decode()
    assert 'data-testid="visit-action-no_show"' not in panel.content.decode()

    response = client.post(
        reverse("journeys:visit_status", args=[visit.pk]), {"action": "arrive"}, **HTMX
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "Arrival is marked." in body
    assert response["HX-Trigger"] == "visits-changed"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.ARRIVED


def test_a_no_show_before_the_start_is_explained_in_the_panel(scheduling_clinic):
    visit = booked(scheduling_clinic, future_day(), "10:00")
    response = client_for(scheduling_clinic.admin).post(
        reverse("journeys:visit_status", args=[visit.pk]), {"action": "no_show"}, **HTMX
    )
    assert "a no-show can be marked only after that" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED


def test_cancelling_needs_a_reason_then_frees_the_slot(scheduling_clinic):
    day = future_day()
    visit = booked(scheduling_clinic, day, "10:00")
    client = client_for(scheduling_clinic.admin)
    url = reverse("journeys:visit_cancel", args=[visit.pk])

    form = client.get(url, **HTMX).content.decode()
    assert 'data-testid="cancel-form"' in form
    refused = client.post(url, {"by": "patient", "reason": ""}, **HTMX).content.decode()
    assert "Say why the visit is cancelled." in refused
    visit.refresh_from_db()
    assert visit.status == Visit.Status.SCHEDULED

    response = client.post(url, {"by": "clinic", "reason": "Doctor is ill"}, **HTMX)
    assert "The visit is cancelled." in response.content.decode()
    assert response["HX-Trigger"] == "visits-changed"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED_BY_CLINIC
    page = client.get(calendar_url(scheduling_clinic, day)).content.decode()
    assert 'data-testid="visit-block"' not in page


def test_moving_offers_free_times_and_moves_over_htmx(scheduling_clinic):
    day = future_day()
    visit = booked(scheduling_clinic, day, "10:00")
    booked(scheduling_clinic, day, "11:00", patient=PatientFactory())
    client = client_for(scheduling_clinic.admin)
    url = reverse("journeys:visit_move", args=[visit.pk])

    form = client.get(url, **HTMX).content.decode()
    assert 'data-time="09:30"' in form
    assert 'data-time="10:15"' in form  # overlaps only the visit being moved
    assert 'data-time="11:00"' not in form  # taken by the other patient

    refused = client.post(
        url,
        {"date": f"{day:%Y-%m-%d}", "time": "11:15", "doctor": scheduling_clinic.doctor.pk},
        **HTMX,
    ).content.decode()
    assert "already has a visit 11:00–11:30" in refused

    wanted = {"date": f"{day:%Y-%m-%d}", "time": "12:00", "doctor": scheduling_clinic.doctor.pk}
    asked = client.post(url, wanted, **HTMX).content.decode()
    assert 'data-testid="move-confirm"' in asked  # old → new, asked once
    assert "10:00" in asked
    assert "12:00" in asked
    visit.refresh_from_db()
    assert visit.starts_at == scheduling_clinic.at(day, "10:00")  # nothing moved yet
    response = client.post(url, {**wanted, "confirmed": "1"}, **HTMX)
    assert "The visit is moved." in response.content.decode()
    visit.refresh_from_db()
    assert visit.starts_at == scheduling_clinic.at(day, "12:00")


# --- slot search ------------------------------------------------------------------------


def test_slot_search_lists_the_nearest_free_slots_with_booking_links(scheduling_clinic):
    day = future_day()
    scheduling_clinic.doctor.schedule_exceptions.create(starts_on=day, ends_on=day)
    client = client_for(scheduling_clinic.admin)
    url = reverse("journeys:slot_search")
    params = {
        "branch": scheduling_clinic.branch.pk,
        "service": scheduling_clinic.service.pk,
        "date": f"{day:%Y-%m-%d}",
    }

    page = client.get(url, params)
    assert page.status_code == 200
    response = client.get(url, params, HTTP_HX_TARGET="slot-results", **HTMX)
    body = response.content.decode()
    assert "<html" not in body
    # Two weeks from that day, every slot of each (08:00–19:30 every 15 minutes), the day
    # off said to be empty.
    assert body.count('data-testid="slot"') == 13 * 47
    assert body.count('data-testid="slot-day-empty"') == 1
    next_day = day + timedelta(days=1)
    assert f"date={next_day:%Y-%m-%d}&amp;time=08%3A00" in body  # the day off is skipped


def test_slot_search_is_for_administrators(scheduling_clinic):
    assert (
        client_for(scheduling_clinic.doctor).get(reverse("journeys:slot_search")).status_code == 403
    )


def test_arrival_long_before_the_visit_asks_first(scheduling_clinic, time_machine):
    from django.conf import settings

    day = future_day()
    visit = booked(scheduling_clinic, day, "09:00")
    url = reverse("journeys:visit_detail_partial", args=[visit.pk])
    early = scheduling_clinic.at(day, "09:00") - timedelta(
        minutes=settings.VISIT_EARLY_ARRIVAL_MINUTES + 30
    )
    time_machine.move_to(early, tick=False)
    client = client_for(scheduling_clinic.admin)
    panel = client.get(url, **HTMX).content.decode()
    assert 'data-testid="visit-action-arrive" hx-confirm=' in panel
    assert "Mark arrival anyway?" in panel
    time_machine.move_to(scheduling_clinic.at(day, "08:45"), tick=False)
    panel = client_for(scheduling_clinic.admin).get(url, **HTMX).content.decode()
    assert 'data-testid="visit-action-arrive"' in panel
    assert "Mark arrival anyway?" not in panel
