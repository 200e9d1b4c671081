from django.urls import path

from . import views

app_name = "metrics"
urlpatterns = [
    path("", views.staff_report_view, name="report"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("dashboard/export.csv", views.dashboard_export_view, name="dashboard_export"),
]
