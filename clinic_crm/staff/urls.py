from django.urls import path

from . import views, views_members

app_name = "staff"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/otp/", views.otp_view, name="otp"),
    path("accounts/enrol/", views.enrol_view, name="enrol"),
    path("accounts/backup-codes/", views.backup_codes_view, name="backup_codes"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        views_members.set_password_view,
        name="set_password",
    ),
    path("staff/", views_members.staff_list_view, name="staff_list"),
    path("staff/add/", views_members.staff_add_view, name="staff_add"),
    path("staff/<int:user_id>/", views_members.staff_edit_view, name="staff_edit"),
    path(
        "staff/<int:user_id>/deactivate/",
        views_members.staff_deactivate_view,
        name="staff_deactivate",
    ),
    path(
        "staff/<int:user_id>/reactivate/",
        views_members.staff_reactivate_view,
        name="staff_reactivate",
    ),
    path(
        "staff/<int:user_id>/resend-invitation/",
        views_members.staff_invitation_resend_view,
        name="staff_invitation_resend",
    ),
    path("staff/<int:user_id>/reset-2fa/", views.second_factor_reset_view, name="reset_2fa"),
]
