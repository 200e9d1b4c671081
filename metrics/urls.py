from django.urls import path

from . import views

app_name = "metrics"
urlpatterns = [
    path("", views.staff_report_view, name="report"),
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("dashboard/export.csv", views.dashboard_export_view, name="dashboard_export"),
]

from . import views_weekly  # noqa: E402

urlpatterns += [
    path("weekly/", views_weekly.weekly_list_view, name="weekly"),
    path("weekly/<str:week>/", views_weekly.weekly_detail_view, name="weekly_detail"),
]
