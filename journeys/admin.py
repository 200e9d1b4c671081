"""Doctors' hours, schedule exceptions, visit checklists and pre-visit questionnaires are
kept by managers in the admin site (the catalogue of branches, specialties and services:
clinic_crm.catalogue); clinical records are changed only through the product's pages."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin_names import admin_names_register

from .models import (
    ChecklistItem,
    ChecklistTemplate,
    ScheduleException,
    ScreeningForm,
    ScreeningQuestion,
    WorkingHours,
)


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


# --- pre-visit questionnaires (managers' catalogue; permissions from the manager role) --


class ScreeningQuestionInline(admin.StackedInline):
    model = ScreeningQuestion
    fields = [("position", "kind", "required"), "text", "text_en", "choices"]
    extra = 0


@admin.register(ScreeningForm)
class ScreeningFormAdmin(admin.ModelAdmin):
    list_display = ["title", "service_name", "is_active", "question_count"]
    list_filter = ["is_active"]
    search_fields = ["title", "service__name", "questions__text"]
    autocomplete_fields = ["service"]
    inlines = [ScreeningQuestionInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("service")
            .annotate(question_total=Count("questions"))
        )

    @admin.display(description=_("service"), ordering="service__name")
    def service_name(self, obj: ScreeningForm) -> str:
        return obj.service.name if obj.service is not None else _("every other service")

    @admin.display(description=_("questions"), ordering="question_total")
    def question_count(self, obj: ScreeningForm) -> int:
        return obj.question_total


# The names the admin's phrases use, in the case Russian needs (clinic_crm.admin_names).
admin_names_register(
    WorkingHours,
    accusative=pgettext_lazy("accusative", "working hours"),
    count=ngettext_lazy("%(count)s working hours", "%(count)s working hours", "count"),
)
admin_names_register(
    ScheduleException,
    accusative=pgettext_lazy("accusative", "schedule exception"),
    count=ngettext_lazy("%(count)s schedule exception", "%(count)s schedule exceptions", "count"),
)
admin_names_register(
    ChecklistTemplate,
    accusative=pgettext_lazy("accusative", "checklist template"),
    count=ngettext_lazy("%(count)s checklist template", "%(count)s checklist templates", "count"),
)
admin_names_register(
    ScreeningForm,
    accusative=pgettext_lazy("accusative", "pre-visit questionnaire"),
    count=ngettext_lazy(
        "%(count)s pre-visit questionnaire", "%(count)s pre-visit questionnaires", "count"
    ),
)
