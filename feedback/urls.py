from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    # Short on purpose: the whole link goes into an SMS (feedback.links).
    path("s/<str:token>", views.survey_view, name="survey"),
    path("s/<str:token>/opened", views.survey_opened_view, name="survey_opened"),
]
