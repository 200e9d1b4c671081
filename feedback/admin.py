"""Managers define the surveys, the CSI aspects with their importance, and the reasons
looked for in comments. Responses are not here: they are patient data, read on the
audited patient pages and, grouped, on the dashboards."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin_names import admin_names_register

from .models import CsiAttribute, ReasonTag, Survey


@admin.register(CsiAttribute)
class CsiAttributeAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "importance", "position", "is_active"]
    list_editable = ["importance", "position", "is_active"]
    prepopulated_fields = {"key": ["name_en"]}


class SurveyForm(ModelForm):
    class Meta:
        model = Survey
        fields = ["kind", "name", "attributes", "asks_nps", "asks_comment", "is_active"]

    def clean(self):
        data = super().clean()
        attributes = data.get("attributes")
        if (
            data.get("kind") == Survey.Kind.VISIT
            and attributes is not None
            and len(attributes) > Survey.MICRO_ATTRIBUTES_MAX
        ):
            raise ValidationError(
                {
                    "attributes": _(
                        "A micro-survey after a visit asks about at most %(max)s aspects: "
                        "patients answer three questions, not ten."
                    )
                    % {"max": Survey.MICRO_ATTRIBUTES_MAX}
                }
            )
        if data.get("asks_nps") is False and attributes is not None and not attributes:
            raise ValidationError(_("A survey must ask something: the NPS question or an aspect."))
        return data


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    form = SurveyForm
    list_display = ["name", "kind", "asks_nps", "asks_comment", "is_active"]
    filter_horizontal = ["attributes"]


@admin.register(ReasonTag)
class ReasonTagAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "key", "is_active"]


# The names the admin's phrases use, in the case Russian needs (clinic_crm.admin_names).
admin_names_register(
    CsiAttribute,
    accusative=pgettext_lazy("accusative", "CSI attribute"),
    count=ngettext_lazy("%(count)s CSI attribute", "%(count)s CSI attributes", "count"),
)
admin_names_register(
    Survey,
    accusative=pgettext_lazy("accusative", "survey"),
    count=ngettext_lazy("%(count)s survey", "%(count)s surveys", "count"),
)
admin_names_register(
    ReasonTag,
    accusative=pgettext_lazy("accusative", "reason"),
    count=ngettext_lazy("%(count)s reason", "%(count)s reasons", "count"),
)
