from django.urls import path

from . import urls_checklists, urls_plans, urls_scheduling
from .views import answers, screening, visit_undo

app_name = "journeys"
urlpatterns = [
    *urls_scheduling.urlpatterns,
    *urls_plans.urlpatterns,
    *urls_checklists.urlpatterns,
    path("visits/<int:visit_id>/undo/", visit_undo.visit_undo_view, name="visit_undo"),
    # The links in a patient's messages (their paths are in messages already sent).
    path("p/visit/<str:token>/", answers.visit_answer_view, name="visit_answer"),
    path("p/feel/<str:token>/", answers.feel_answer_view, name="feel_answer"),
    path("p/screening/<str:token>/", screening.screening_view, name="screening"),
]
