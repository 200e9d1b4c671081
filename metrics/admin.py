"""Managers set the metrics' windows, discounting, costs and the minimum sample here."""

from django.contrib import admin

from clinic_crm.admin import SingletonSettingsAdmin

from .models import MetricsSettings


@admin.register(MetricsSettings)
class MetricsSettingsAdmin(SingletonSettingsAdmin):
    list_display = ["__str__", "return_days", "dormant_months", "min_sample", "updated_at"]
