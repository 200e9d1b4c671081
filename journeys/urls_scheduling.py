"""The calendar and visit scheduling (included by ``journeys.urls``, app "journeys")."""

from django.urls import path

from journeys.views import availability, calendar, visits

urlpatterns: list = [
    path("calendar/", calendar.calendar_day_view, name="calendar_day"),
    path("calendar/week/", calendar.calendar_week_view, name="calendar_week"),
    path("calendar/slots/", availability.slot_search_view, name="slot_search"),
    path("calendar/patients/", visits.patient_options_view, name="scheduling_patient_search"),
    path("visits/book/", visits.visit_book_view, name="visit_book"),
    path(
        "visits/<int:visit_id>/panel/",
        visits.visit_detail_partial_view,
        name="visit_detail_partial",
    ),
    path("visits/<int:visit_id>/move/", visits.visit_move_view, name="visit_move"),
    path("visits/<int:visit_id>/cancel/", visits.visit_cancel_view, name="visit_cancel"),
    path("visits/<int:visit_id>/status/", visits.visit_status_view, name="visit_status"),
]
