from django.urls import path

from . import views_kiosk, views_kiosk_staff

app_name = "kiosk"

urlpatterns = [
    # The tablet: its own credential (a cookie), no staff login (feedback.views_kiosk).
    path("", views_kiosk.kiosk_start_view, name="start"),
    path("pair/", views_kiosk.kiosk_pair_view, name="pair"),
    path("current/", views_kiosk.kiosk_current_view, name="current"),
    path("survey/<str:code>/", views_kiosk.kiosk_survey_view, name="survey"),
    path("answer/", views_kiosk.kiosk_answer_view, name="answer"),
    # Staff: managers' tablets, the front desk's codes and "next patient".
    path("devices/", views_kiosk_staff.kiosk_devices_view, name="devices"),
    path(
        "devices/<int:device_id>/revoke/",
        views_kiosk_staff.kiosk_device_revoke_view,
        name="device_revoke",
    ),
    path(
        "devices/<int:device_id>/pairing/",
        views_kiosk_staff.kiosk_device_pairing_view,
        name="device_pairing",
    ),
    path("visits/", views_kiosk_staff.kiosk_visits_view, name="visits"),
    path("visits/<int:visit_id>/code/", views_kiosk_staff.kiosk_visit_code_view, name="visit_code"),
    path("push/", views_kiosk_staff.kiosk_push_view, name="push"),
]
