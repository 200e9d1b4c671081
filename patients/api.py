from rest_framework import generics, serializers
from rest_framework.response import Response

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
    preferred_channel = serializers.CharField()
    preferred_language = serializers.CharField()
    time_zone = serializers.CharField()
    source = serializers.CharField()
    referred_by_id = serializers.IntegerField(allow_null=True)
    family_group_id = serializers.IntegerField(allow_null=True)
    home_branch_id = serializers.IntegerField(allow_null=True)
    is_archived = serializers.BooleanField()
    is_deceased = serializers.BooleanField()
    merged_into_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PatientListApi(generics.ListAPIView):
    """Live patient cards matching ``?q=`` (name words, phone digits or card number)."""

    serializer_class = PatientOutputSerializer

    def get_queryset(self):
        return selectors.patient_search(
            query=self.request.query_params.get("q", ""),
            branch_id=selectors.branch_scope(self.request.user),
        )


class PatientDetailApi(generics.RetrieveAPIView):
    """One card, merged ones included (``merged_into_id`` says where it went)."""

    serializer_class = PatientOutputSerializer
    lookup_url_kwarg = "patient_id"

    def get_queryset(self):
        return selectors.patient_visible(branch_id=selectors.branch_scope(self.request.user))

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        audit_record(action=AuditAction.READ, request=request, obj=patient)
        return Response(self.get_serializer(patient).data)
