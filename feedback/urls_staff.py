from django.urls import path

from . import views_reasons

app_name = "feedback_staff"

urlpatterns = [
    path("reasons/agreement/", views_reasons.reason_agreement_view, name="reason_agreement"),
    path(
        "responses/<int:response_id>/reasons/",
        views_reasons.response_reasons_view,
        name="response_reasons",
    ),
]
