"""Visit checklists and their completion rates (included by ``journeys.urls``)."""

from django.urls import path

from journeys.views import checklists as views

urlpatterns: list = [
    path("visits/<int:visit_id>/checklists/", views.visit_checklists_view, name="visit_checklists"),
    path(
        "visits/<int:visit_id>/checklists/items/<int:item_id>/",
        views.checklist_item_toggle_view,
        name="checklist_item_toggle",
    ),
    path("checklists/", views.checklist_rates_view, name="checklist_rates"),
]
