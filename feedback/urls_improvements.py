from django.urls import path

from . import views_improvements

app_name = "improvements"

urlpatterns = [
    path("we-did/", views_improvements.improvements_view, name="clinic"),
    path("we-did/<int:branch_id>/", views_improvements.improvements_view, name="branch"),
]
