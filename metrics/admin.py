"""Managers set the metrics' windows, discounting, costs and the minimum sample here."""

from django.contrib import admin
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin import SingletonSettingsAdmin
from clinic_crm.admin_names import admin_names_register

from .models import MetricsSettings


@admin.register(MetricsSettings)
class MetricsSettingsAdmin(SingletonSettingsAdmin):
    list_display = ["__str__", "return_days", "dormant_months", "min_sample", "updated_at"]


# The names the admin's phrases use, in the case Russian needs (clinic_crm.admin_names).
admin_names_register(
    MetricsSettings,
    accusative=pgettext_lazy("accusative", "metrics settings"),
    count=ngettext_lazy(
        "%(count)s metrics settings record", "%(count)s metrics settings records", "count"
    ),
)
