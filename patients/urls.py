from django.urls import path

from . import api, views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list_view, name="list"),
    path("<int:patient_id>/", views.patient_detail_view, name="detail"),
]

api_urlpatterns = [
    path("patients/", api.PatientListApi.as_view(), name="api_patient_list"),
    path("patients/<int:patient_id>/", api.PatientDetailApi.as_view(), name="api_patient_detail"),
]
