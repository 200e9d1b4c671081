"""The slot finder: every free slot of a range of days, grouped by day and doctor, each
doctor's next available slot, filters by doctor, specialty, service and time of day, a
clear message for a bad range, and the same number of queries for one day or a month."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journeys.models import ScheduleException, Visit
from journeys.selectors_slots import DEFAULT_SEARCH_DAYS, MAX_SEARCH_DAYS, slot_search
from journeys.services.visits import visit_book
from tests.conftest import HTMX, client_for
from tests.factories import BranchFactory, PatientFactory, SpecialtyFactory
from tests.journeys.factories import (
    PlanOptionFactory,
    ServiceFactory,
    StageFactory,
    TreatmentPlanFactory,
    WorkingHoursFactory,
    future_day,
    make_clinic,
    make_doctor,
)

pytestmark = pytest.mark.django_db

# 08:00–20:00 with a 30-minute service every 15 minutes: 08:00 … 19:30.
FULL_DAY = 47


def _search(client, clinic, **params):
    query = {"branch": clinic.branch.pk, "service": clinic.service.pk, **params}
    response = client.get(
        reverse("journeys:slot_search"), query, HTTP_HX_TARGET="slot-results", **HTMX
    )
    assert response.status_code == 200
    return response.content.decode()


def _times(body: str) -> list[str]:
    return re.findall(r'data-testid="slot" data-time="(\d\d:\d\d)"', body)


# --- the selector -------------------------------------------------------------------------


def test_every_slot_of_the_day_is_found_up_to_the_end_of_the_working_hours(scheduling_clinic):
    day = future_day()
    found = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day + timedelta(6),
    )
    assert [d.day for d in found.days] == [day + timedelta(n) for n in range(7)]
    zone = scheduling_clinic.branch.zone
    for slot_day in found.days:
        (row,) = slot_day.doctors
        starts = [f"{timezone.localtime(s.starts_at, zone):%H:%M}" for s in row.slots]
        assert len(starts) == FULL_DAY
        assert starts[0] == "08:00"
        assert starts[-1] == "19:30"  # not cut at 16:45 any more
    assert found.count == 7 * FULL_DAY


def test_a_day_off_is_an_empty_day_that_says_nobody_works(scheduling_clinic):
    day = future_day()
    ScheduleException.objects.create(doctor=scheduling_clinic.doctor, starts_on=day, ends_on=day)
    found = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day + timedelta(1),
    )
    first, second = found.days
    assert first.count == 0
    assert first.working == 0
    assert second.count == FULL_DAY


def test_next_available_is_the_first_free_slot_of_each_doctor(make_staff, scheduling_clinic):
    day = future_day()
    colleague = make_doctor(
        make_staff,
        branch=scheduling_clinic.branch,
        specialty=scheduling_clinic.specialty,
        last_name="Smirnova",
    )
    ScheduleException.objects.create(doctor=colleague, starts_on=day, ends_on=day + timedelta(1))
    visit_book(
        actor=scheduling_clinic.admin,
        patient=scheduling_clinic.patient,
        doctor=scheduling_clinic.doctor,
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        starts_at=scheduling_clinic.at(day, "08:00"),
    )
    found = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day + timedelta(13),
    )
    zone = scheduling_clinic.branch.zone
    first = {n.doctor.pk: timezone.localtime(n.slot.starts_at, zone) for n in found.next_available}
    assert first[scheduling_clinic.doctor.pk].date() == day
    assert f"{first[scheduling_clinic.doctor.pk]:%H:%M}" == "08:30"
    assert first[colleague.pk].date() == day + timedelta(2)
    assert f"{first[colleague.pk]:%H:%M}" == "08:00"


def test_a_doctor_with_no_free_time_in_the_range_is_named_without_a_slot(
    make_staff, scheduling_clinic
):
    day = future_day()
    colleague = make_doctor(
        make_staff,
        branch=scheduling_clinic.branch,
        specialty=scheduling_clinic.specialty,
        last_name="Smirnova",
    )
    ScheduleException.objects.create(doctor=colleague, starts_on=day, ends_on=day + timedelta(30))
    found = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day + timedelta(3),
    )
    by_doctor = {n.doctor.pk: n.slot for n in found.next_available}
    assert by_doctor[colleague.pk] is None
    assert by_doctor[scheduling_clinic.doctor.pk] is not None
    assert found.next_available[-1].doctor == colleague  # doctors with time come first


def test_the_part_of_the_day_bounds_the_starts(scheduling_clinic):
    day = future_day()
    found = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day,
        starts_from=time(17, 0),
        starts_before=None,
    )
    zone = scheduling_clinic.branch.zone
    starts = [
        f"{timezone.localtime(s.starts_at, zone):%H:%M}" for s in found.days[0].doctors[0].slots
    ]
    assert starts[0] == "17:00"
    assert starts[-1] == "19:30"


def test_the_range_is_never_longer_than_a_month(scheduling_clinic):
    day = future_day()
    found = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day + timedelta(400),
    )
    assert len(found.days) == MAX_SEARCH_DAYS


def test_the_search_costs_three_queries_for_a_day_or_a_month(
    make_staff, scheduling_clinic, django_assert_max_num_queries
):
    day = future_day()
    for n in range(4):
        make_doctor(
            make_staff,
            branch=scheduling_clinic.branch,
            specialty=scheduling_clinic.specialty,
            last_name=f"Doctor{n}",
        )
    for last in (day, day + timedelta(MAX_SEARCH_DAYS - 1)):
        with django_assert_max_num_queries(3):
            found = slot_search(
                branch=scheduling_clinic.branch,
                service=scheduling_clinic.service,
                first_day=day,
                last_day=last,
            )
            # Names and specialties are printed: loaded by the same queries.
            names = [f"{n.doctor} {n.doctor.profile.specialty}" for n in found.next_available]
        assert len(names) == 5


# --- the page -----------------------------------------------------------------------------


def test_the_finder_shows_two_weeks_by_default_grouped_by_day_with_every_slot(scheduling_clinic):
    day = future_day()
    body = _search(client_for(scheduling_clinic.admin), scheduling_clinic, date=f"{day:%Y-%m-%d}")
    assert body.count('data-testid="slot-day"') == DEFAULT_SEARCH_DAYS
    times = _times(body)
    assert len(times) == DEFAULT_SEARCH_DAYS * FULL_DAY
    assert times.count("19:30") == DEFAULT_SEARCH_DAYS
    last = day + timedelta(DEFAULT_SEARCH_DAYS - 1)
    assert f'data-date="{last:%Y-%m-%d}"' in body
    assert f'data-date="{last + timedelta(1):%Y-%m-%d}"' not in body
    assert 'data-testid="next-available-doctor"' in body


def test_a_day_without_free_slots_says_so(scheduling_clinic):
    day = future_day()
    ScheduleException.objects.create(doctor=scheduling_clinic.doctor, starts_on=day, ends_on=day)
    body = _search(
        client_for(scheduling_clinic.admin),
        scheduling_clinic,
        date=f"{day:%Y-%m-%d}",
        until=f"{day + timedelta(1):%Y-%m-%d}",
    )
    assert body.count('data-testid="slot-day-empty"') == 1
    assert "nobody works that day" in body
    assert body.count('data-testid="slot-day"') == 1


def test_a_slot_opens_the_booking_form_for_that_doctor_day_and_time(scheduling_clinic):
    day = future_day()
    plan = TreatmentPlanFactory(
        patient=scheduling_clinic.patient,
        branch=scheduling_clinic.branch,
        lead_doctor=scheduling_clinic.doctor,
    )
    stage = StageFactory(
        option=PlanOptionFactory(plan=plan),
        specialty=scheduling_clinic.specialty,
        service=scheduling_clinic.service,
    )
    body = _search(
        client_for(scheduling_clinic.admin),
        scheduling_clinic,
        date=f"{day:%Y-%m-%d}",
        until=f"{day:%Y-%m-%d}",
        patient=scheduling_clinic.patient.pk,
        stage=stage.pk,
    )
    first = re.search(r'data-testid="slot" data-time="08:00" hx-get="([^"]+)"', body).group(1)
    url = first.replace("&amp;", "&")
    assert f"doctor={scheduling_clinic.doctor.pk}" in url
    assert f"date={day:%Y-%m-%d}" in url
    assert "time=08%3A00" in url
    assert f"patient={scheduling_clinic.patient.pk}" in url
    assert f"stage={stage.pk}" in url
    form = client_for(scheduling_clinic.admin).get(url, **HTMX).content.decode()
    assert 'data-testid="book-form"' in form
    assert 'value="08:00"' in form


@pytest.mark.parametrize(
    ("params", "first", "last"),
    [
        ({"part": "morning"}, "08:00", "11:45"),
        ({"part": "afternoon"}, "12:00", "16:45"),
        ({"part": "evening"}, "17:00", "19:30"),
        ({"time_from": "10:00", "time_to": "12:00"}, "10:00", "11:45"),
        ({"part": "morning", "time_from": "18:00"}, "18:00", "19:30"),  # typed times win
    ],
)
def test_the_time_of_day_filter(scheduling_clinic, params, first, last):
    day = future_day()
    body = _search(
        client_for(scheduling_clinic.admin),
        scheduling_clinic,
        date=f"{day:%Y-%m-%d}",
        until=f"{day:%Y-%m-%d}",
        **params,
    )
    times = _times(body)
    assert times[0] == first
    assert times[-1] == last


def test_filters_by_doctor_and_by_specialty(make_staff, scheduling_clinic):
    day = future_day()
    colleague = make_doctor(
        make_staff,
        branch=scheduling_clinic.branch,
        specialty=scheduling_clinic.specialty,
        last_name="Smirnova",
    )
    surgery = SpecialtyFactory(name="Surgery")
    surgeon = make_doctor(
        make_staff, branch=scheduling_clinic.branch, specialty=surgery, last_name="Orlov"
    )
    client = client_for(scheduling_clinic.admin)
    one_day = {"date": f"{day:%Y-%m-%d}", "until": f"{day:%Y-%m-%d}"}

    body = _search(client, scheduling_clinic, **one_day)
    doctors = set(re.findall(r'data-testid="slot-doctor" data-doctor-id="(\d+)"', body))
    assert doctors == {str(scheduling_clinic.doctor.pk), str(colleague.pk)}

    body = _search(client, scheduling_clinic, doctor=colleague.pk, **one_day)
    doctors = set(re.findall(r'data-testid="slot-doctor" data-doctor-id="(\d+)"', body))
    assert doctors == {str(colleague.pk)}

    body = _search(client, scheduling_clinic, specialty=surgery.pk, **one_day)
    doctors = set(re.findall(r'data-testid="slot-doctor" data-doctor-id="(\d+)"', body))
    assert doctors == {str(surgeon.pk)}


def test_the_service_sets_the_length_of_the_slots(scheduling_clinic):
    day = future_day()
    long_one = ServiceFactory(
        specialty=scheduling_clinic.specialty, duration_minutes=120, name="Long"
    )
    body = _search(
        client_for(scheduling_clinic.admin),
        scheduling_clinic,
        service=long_one.pk,
        date=f"{day:%Y-%m-%d}",
        until=f"{day:%Y-%m-%d}",
    )
    assert _times(body)[-1] == "18:00"


@pytest.mark.parametrize(
    ("start", "until", "message"),
    [
        (10, 5, "The range ends before it starts"),
        (3, 3 + MAX_SEARCH_DAYS, "Search at most 31 days at a time; this range has 32."),
        (-20, -10, "These days are over"),
    ],
)
def test_a_bad_range_gets_a_clear_message_and_no_slots(scheduling_clinic, start, until, message):
    today = timezone.localdate()
    client = client_for(scheduling_clinic.admin)
    dates = {
        "date": f"{today + timedelta(start):%Y-%m-%d}",
        "until": f"{today + timedelta(until):%Y-%m-%d}",
    }
    body = _search(client, scheduling_clinic, **dates)
    assert message in body
    assert 'data-testid="slot"' not in body
    page = client.get(
        reverse("journeys:slot_search"),
        {"branch": scheduling_clinic.branch.pk, "service": scheduling_clinic.service.pk, **dates},
    ).content.decode()
    assert message in page  # under the field, on the whole page too


def test_times_in_the_wrong_order_get_a_message(scheduling_clinic):
    day = future_day()
    body = _search(
        client_for(scheduling_clinic.admin),
        scheduling_clinic,
        date=f"{day:%Y-%m-%d}",
        time_from="15:00",
        time_to="09:00",
    )
    assert "Make the second time later than the first." in body
    assert 'data-testid="slot"' not in body


def test_a_range_starting_in_the_past_shows_only_what_is_left(scheduling_clinic):
    today = timezone.localdate(timezone.now(), scheduling_clinic.branch.zone)
    body = _search(
        client_for(scheduling_clinic.admin),
        scheduling_clinic,
        date=f"{today - timedelta(3):%Y-%m-%d}",
        until=f"{today + timedelta(1):%Y-%m-%d}",
    )
    assert f'data-date="{today - timedelta(1):%Y-%m-%d}"' not in body
    assert f'data-date="{today + timedelta(1):%Y-%m-%d}"' in body


def test_the_page_costs_the_same_queries_for_one_day_or_a_month(make_staff, scheduling_clinic):
    day = future_day()
    for n in range(3):
        doctor = make_doctor(
            make_staff,
            branch=scheduling_clinic.branch,
            specialty=scheduling_clinic.specialty,
            last_name=f"Doctor{n}",
        )
        patient = PatientFactory(home_branch=scheduling_clinic.branch)
        for offset in range(0, MAX_SEARCH_DAYS, 3):
            visit_book(
                actor=scheduling_clinic.admin,
                patient=patient,
                doctor=doctor,
                branch=scheduling_clinic.branch,
                service=scheduling_clinic.service,
                starts_at=scheduling_clinic.at(day + timedelta(offset), "10:00"),
            )
    assert Visit.objects.count() > 20
    client = client_for(scheduling_clinic.admin)
    counts = []
    for last in (day, day + timedelta(MAX_SEARCH_DAYS - 1)):
        with CaptureQueriesContext(connection) as queries:
            _search(client, scheduling_clinic, date=f"{day:%Y-%m-%d}", until=f"{last:%Y-%m-%d}")
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 20


def test_a_doctor_s_hours_of_another_branch_are_not_offered(make_staff, scheduling_clinic):
    day = future_day()
    elsewhere = BranchFactory()
    colleague = make_doctor(
        make_staff,
        branch=scheduling_clinic.branch,
        specialty=scheduling_clinic.specialty,
        hours=False,
    )
    WorkingHoursFactory(
        doctor=colleague, branch=elsewhere, weekday=day.weekday(), starts=time(8), ends=time(20)
    )
    found = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day,
    )
    assert {row.doctor.pk for row in found.days[0].doctors} == {scheduling_clinic.doctor.pk}


# --- the week calendar's days ---------------------------------------------------------------


def test_the_week_hides_a_weekend_day_nobody_works_and_says_so(make_staff):
    clinic = make_clinic(make_staff, hours=False)
    for weekday in range(6):  # Monday to Saturday
        WorkingHoursFactory(
            doctor=clinic.doctor,
            branch=clinic.branch,
            weekday=weekday,
            starts=time(9),
            ends=time(18),
        )
    day = future_day()
    url = f"{reverse('journeys:calendar_week')}?branch={clinic.branch.pk}&date={day:%Y-%m-%d}"
    body = client_for(clinic.admin).get(url).content.decode()
    assert body.count('data-testid="week-day"') == 6
    assert 'data-testid="week-hidden-days"' in body
    assert "Sunday" in body

    WorkingHoursFactory(
        doctor=clinic.doctor, branch=clinic.branch, weekday=6, starts=time(10), ends=time(14)
    )
    body = client_for(clinic.admin).get(url).content.decode()
    assert body.count('data-testid="week-day"') == 7
    assert 'data-testid="week-hidden-days"' not in body


def test_busy_times_are_read_in_one_pass_yet_every_clash_is_seen(scheduling_clinic):
    # Back-to-back visits, a long one, one that ends exactly where a slot starts, and one
    # of the evening before that runs past midnight: each slot is free exactly when no
    # visit overlaps it (the naive check over every visit is the reference).
    from journeys.models import Visit

    day = future_day()
    zone = scheduling_clinic.branch.zone

    def at(d, hh, mm):
        return timezone.make_aware(timezone.datetime.combine(d, time(hh, mm)), zone)

    busy = [
        (at(day - timedelta(1), 23, 30), at(day, 8, 20)),
        (at(day, 9, 0), at(day, 9, 30)),
        (at(day, 9, 30), at(day, 10, 45)),
        (at(day, 12, 10), at(day, 12, 15)),
        (at(day, 15, 0), at(day, 18, 0)),
    ]
    for starts, ends in busy:
        Visit.objects.create(
            patient=PatientFactory(home_branch=scheduling_clinic.branch),
            doctor=scheduling_clinic.doctor,
            branch=scheduling_clinic.branch,
            service=scheduling_clinic.service,
            starts_at=starts,
            ends_at=ends,
        )
    (slot_day,) = slot_search(
        branch=scheduling_clinic.branch,
        service=scheduling_clinic.service,
        first_day=day,
        last_day=day,
    ).days
    found = [s.starts_at for s in slot_day.doctors[0].slots]
    expected = []
    start = at(day, 8, 0)
    while start + timedelta(minutes=30) <= at(day, 20, 0):
        end = start + timedelta(minutes=30)
        if not any(a < end and start < b for a, b in busy):
            expected.append(start)
        start += timedelta(minutes=15)
    assert found == expected
    assert at(day, 8, 15) not in found
    assert at(day, 8, 30) in found
    assert at(day, 10, 45) in found
    assert at(day, 10, 30) not in found
