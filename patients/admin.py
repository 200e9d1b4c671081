from django.contrib import admin

from . import selectors
from .models import ConsentRecord, FamilyGroup, Patient


class ReadOnlyAdmin(admin.ModelAdmin):
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
class FamilyGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None):
        return False
