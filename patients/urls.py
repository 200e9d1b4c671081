from django.urls import path

from . import api, views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list_view, name="list"),
    path("new/", views.patient_create_view, name="create"),
    path("<int:patient_id>/", views.patient_detail_view, name="detail"),
    path("<int:patient_id>/edit/", views.patient_edit_view, name="edit"),
    path("<int:patient_id>/consents/", views.consent_record_view, name="consent_record"),
    path("<int:patient_id>/family/", views.family_link_view, name="family_link"),
    path("<int:patient_id>/family/leave/", views.family_unlink_view, name="family_unlink"),
    path("<int:patient_id>/merge/", views.patient_merge_view, name="merge"),
]

api_urlpatterns = [
    path("patients/", api.PatientListApi.as_view(), name="api_patient_list"),
    path("patients/<int:patient_id>/", api.PatientDetailApi.as_view(), name="api_patient_detail"),
]
