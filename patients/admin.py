from django.contrib import admin
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin_names import admin_names_register
from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record

from . import access, selectors
from .models import ConsentRecord, FamilyGroup, Patient


class PatientDataAdmin(admin.ModelAdmin):
    """Admin pages of patient data: the access rule cuts what they list, and every list
    and every opened record is audited like the product's own pages."""

    patient_field: str | None = "patient"  # None: the model is Patient itself

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if self.patient_field is None:
            return access.patients_visible(request.user, queryset)
        return access.restrict(request.user, queryset, patient_field=self.patient_field)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            rows = list(changelist.result_list)
            if self.patient_field is None:
                patient_ids = [obj.pk for obj in rows]
            else:
                patient_ids = [getattr(obj, f"{self.patient_field}_id", None) for obj in rows]
            audit_record(
                action=AuditAction.READ,
                request=request,
                details={
                    "admin": self.model._meta.label,
                    "object_ids": [obj.pk for obj in rows],
                    "patient_ids": sorted({pk for pk in patient_ids if pk is not None}),
                },
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = getattr(response, "context_data", {}).get("original")
        if obj is not None:
            audit_record(
                action=AuditAction.READ,
                request=request,
                obj=obj,
                details={"admin": self.model._meta.label},
            )
        return response


class ReadOnlyAdmin(PatientDataAdmin):
    """Cards and consents change only through the services (validation, audit, merge
    rules); the technical admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    patient_field = None
    list_display = ["id", "last_name", "first_name", "middle_name", "birth_date", "phone"]
    list_filter = ["is_archived", "is_deceased", "home_branch"]
    list_select_related = ["home_branch"]
    search_fields = ["search_name"]
    show_full_result_count = False
    raw_id_fields = ["referred_by", "family_group", "merged_into"]

    def get_search_results(self, request, queryset, search_term):
        # The trigram-indexed search, not the admin's UPPER(...) LIKE scan.
        if not search_term:
            return queryset, False
        matching = selectors.patient_search(query=search_term).values("pk")
        return queryset.filter(pk__in=matching), False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["patient", "kind", "channel", "granted", "recorded_at", "recorded_by"]
    list_filter = ["kind", "channel", "granted"]
    list_select_related = ["patient", "recorded_by"]
    raw_id_fields = ["patient"]
    show_full_result_count = False


@admin.register(FamilyGroup)
class FamilyGroupAdmin(PatientDataAdmin):
    """A family's name is a patient's last name: it is patient data too."""

    patient_field = "members"
    list_display = ["name", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None):
        return False


# The names the admin's phrases use, in the case Russian needs (clinic_crm.admin_names).
admin_names_register(
    Patient,
    accusative=pgettext_lazy("accusative", "patient"),
    count=ngettext_lazy("%(count)s patient", "%(count)s patients", "count"),
)
admin_names_register(
    ConsentRecord,
    accusative=pgettext_lazy("accusative", "consent record"),
    count=ngettext_lazy("%(count)s consent record", "%(count)s consent records", "count"),
)
admin_names_register(
    FamilyGroup,
    accusative=pgettext_lazy("accusative", "family"),
    count=ngettext_lazy("%(count)s family", "%(count)s families", "count"),
)
