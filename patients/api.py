from rest_framework import generics, serializers

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record

from . import selectors


class PatientOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    last_name = serializers.CharField()
    first_name = serializers.CharField()
    middle_name = serializers.CharField()
    birth_date = serializers.DateField()
    phone = serializers.CharField()
    email = serializers.EmailField()
    home_branch_id = serializers.IntegerField(allow_null=True)


class PatientListApi(generics.ListAPIView):
    serializer_class = PatientOutputSerializer

    def get_queryset(self):
        return selectors.patient_search(query=self.request.query_params.get("q", ""))


class PatientDetailApi(generics.RetrieveAPIView):
    serializer_class = PatientOutputSerializer
    lookup_url_kwarg = "patient_id"

    def get_queryset(self):
        return selectors.patient_search()

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        audit_record(action=AuditAction.READ, request=request, obj=self.get_object())
        return response
