from django.urls import path

from . import urls_checklists, urls_plans, urls_scheduling
from .views import visit_undo

app_name = "journeys"
urlpatterns = [
    *urls_scheduling.urlpatterns,
    *urls_plans.urlpatterns,
    *urls_checklists.urlpatterns,
    path("visits/<int:visit_id>/undo/", visit_undo.visit_undo_view, name="visit_undo"),
]
