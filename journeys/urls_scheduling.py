"""The calendar and visit scheduling (included by ``journeys.urls``, app "journeys")."""

from django.urls import path

from journeys.views import scheduling as views

urlpatterns: list = [
    path("calendar/", views.calendar_day_view, name="calendar_day"),
    path("calendar/week/", views.calendar_week_view, name="calendar_week"),
    path("calendar/slots/", views.slot_search_view, name="slot_search"),
    path("calendar/patients/", views.patient_options_view, name="scheduling_patient_search"),
    path("visits/book/", views.visit_book_view, name="visit_book"),
    path(
        "visits/<int:visit_id>/panel/", views.visit_detail_partial_view, name="visit_detail_partial"
    ),
    path("visits/<int:visit_id>/move/", views.visit_move_view, name="visit_move"),
    path("visits/<int:visit_id>/cancel/", views.visit_cancel_view, name="visit_cancel"),
    path("visits/<int:visit_id>/status/", views.visit_status_view, name="visit_status"),
]
