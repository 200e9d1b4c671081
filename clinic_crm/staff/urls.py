from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/otp/", views.otp_view, name="otp"),
    path("accounts/enrol/", views.enrol_view, name="enrol"),
    path("accounts/backup-codes/", views.backup_codes_view, name="backup_codes"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("staff/", views.staff_list_view, name="staff_list"),
    path("staff/<int:user_id>/reset-2fa/", views.second_factor_reset_view, name="reset_2fa"),
]
