"""Managers keep the catalogue (branches, specialties, services) in the admin site."""

from django.contrib import admin
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin_names import admin_names_register

from .models import Branch, Service, Specialty


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


# The names the admin's phrases use, in the case Russian needs (clinic_crm.admin_names).
admin_names_register(
    Branch,
    accusative=pgettext_lazy("accusative", "branch"),
    count=ngettext_lazy("%(count)s branch", "%(count)s branches", "count"),
)
admin_names_register(
    Specialty,
    accusative=pgettext_lazy("accusative", "specialty"),
    count=ngettext_lazy("%(count)s specialty", "%(count)s specialties", "count"),
)
admin_names_register(
    Service,
    accusative=pgettext_lazy("accusative", "service"),
    count=ngettext_lazy("%(count)s service", "%(count)s services", "count"),
)
