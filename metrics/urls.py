from django.urls import path

from . import views

app_name = "metrics"
urlpatterns = [
    path("dashboard/", views.dashboard_view, name="dashboard"),
]
