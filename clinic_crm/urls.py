from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from clinic_crm.staff.access import public
from patients.urls import api_urlpatterns as patient_api

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("audit/", include("clinic_crm.audit.urls")),
    path("", include("clinic_crm.messaging.urls")),
    path("patients/", include("patients.urls")),
    path("metrics/", include("metrics.urls")),
    path("feedback/", include("feedback.urls_staff")),
    path("kiosk/", include("feedback.urls_kiosk")),
    path("api/", include((patient_api, "api"))),
    path("", include("journeys.urls")),
    path("", include("feedback.urls")),
    path("", include("feedback.urls_improvements")),
    path("", include("clinic_crm.staff.urls")),
]

handler400 = "clinic_crm.errors.bad_request"
handler403 = "clinic_crm.errors.permission_denied"
handler404 = "clinic_crm.errors.page_not_found"
handler500 = "clinic_crm.errors.server_error"

admin.site.site_header = "Clinic CRM"
admin.site.site_title = "Clinic CRM"
