from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_list_read, audit_record

from . import access, selectors
from .models import Patient


class PatientOutputSerializer(serializers.Serializer[Patient]):
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
    # The card's own "source" field: DRF's metaclass declares it like the others; the stubs
    # see it as Field.source (the attribute a field reads from), hence the ignore.
    source = serializers.CharField()  # type: ignore[assignment]
    referred_by_id = serializers.IntegerField(allow_null=True)
    family_group_id = serializers.IntegerField(allow_null=True)
    home_branch_id = serializers.IntegerField(allow_null=True)
    is_archived = serializers.BooleanField()
    is_deceased = serializers.BooleanField()
    merged_into_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PatientListApi(generics.ListAPIView[Patient]):
    """Live patient cards the caller may see matching ``?q=`` (name words, phone digits or
    card number). Each page read is audited with the ids it returned."""

    serializer_class = PatientOutputSerializer

    def get_queryset(self) -> QuerySet[Patient]:
        return selectors.patient_search(
            query=self.request.query_params.get("q", ""),
            patients=access.patients_visible(self.request.user),
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        patients = list(page if page is not None else self.get_queryset())
        audit_list_read(
            request=request, page="api patient list", patient_ids=[p.pk for p in patients]
        )
        data = self.get_serializer(patients, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)


class PatientDetailApi(generics.RetrieveAPIView[Patient]):
    """One card, merged ones included (``merged_into_id`` says where it went)."""

    serializer_class = PatientOutputSerializer
    lookup_url_kwarg = "patient_id"

    def get_object(self) -> Patient:
        return access.patient_or_404(self.request.user, self.kwargs["patient_id"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self.get_object()
        audit_record(action=AuditAction.READ, request=request, obj=patient)
        return Response(self.get_serializer(patient).data)
