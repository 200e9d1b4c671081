"""The catalogue (branches, specialties, services, doctors' hours) is kept by managers in
the admin site; clinical records are changed only through the product's pages."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    Branch,
    ChecklistItem,
    ChecklistTemplate,
    ScheduleException,
    Service,
    Specialty,
    WorkingHours,
)


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "time_zone"]
    search_fields = ["name", "address"]


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "specialty",
        "duration_minutes",
        "price",
        "recall_interval_days",
        "follow_up_next_day",
        "is_active",
    ]
    list_filter = ["specialty", "is_active", "follow_up_next_day"]
    search_fields = ["name"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["doctor", "branch", "weekday", "starts", "ends"]
    list_filter = ["branch", "weekday"]
    autocomplete_fields = ["doctor"]


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(admin.ModelAdmin):
    list_display = ["doctor", "kind", "starts_on", "ends_on", "note"]
    list_filter = ["kind"]
    date_hierarchy = "starts_on"
    autocomplete_fields = ["doctor"]


# --- visit checklists (managers' catalogue; permissions from the manager role) --------


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    fields = ["position", "text"]
    extra = 1


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "audience", "service_names", "is_active"]
    list_filter = ["audience", "is_active"]
    search_fields = ["name", "items__text"]
    filter_horizontal = ["services"]
    inlines = [ChecklistItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")

    @admin.display(description=_("services"))
    def service_names(self, obj: ChecklistTemplate) -> str:
        return ", ".join(s.name for s in obj.services.all()) or _("every service")
