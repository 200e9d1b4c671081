"""Managers define the surveys, the CSI aspects with their importance, and the reasons
looked for in comments. Responses are not here: they are patient data, read on the
audited patient pages and, grouped, on the dashboards."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin_names import admin_names_register

from .models import CsiAttribute, FeedbackSettings, ReasonTag, Survey
from .reason_tags import keyword_problems


@admin.register(CsiAttribute)
class CsiAttributeAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "importance", "position", "is_active"]
    list_editable = ["importance", "position", "is_active"]
    prepopulated_fields = {"key": ["name_en"]}


class SurveyForm(ModelForm):
    class Meta:
        model = Survey
        fields = ["kind", "name", "attributes", "asks_nps", "asks_comment", "is_active"]
        help_texts = {
            "attributes": _(
                "After a visit, each invitation asks about two of these, in turn, so "
                "patients answer three questions, not ten. After a significant stage, "
                "about all of them."
            )
        }

    def clean(self):
        data = super().clean()
        attributes = data.get("attributes")
        if data.get("asks_nps") is False and attributes is not None and not attributes:
            raise ValidationError(_("A survey must ask something: the NPS question or an aspect."))
        return data


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    form = SurveyForm
    list_display = ["name", "kind", "asks_nps", "asks_comment", "is_active"]
    filter_horizontal = ["attributes"]


@admin.register(FeedbackSettings)
class FeedbackSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "surveys", "delay_minutes", "interval_days", "updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not FeedbackSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


# The tagger's syntax (feedback.reasons), shown under the keywords; the admin prints
# help texts as HTML.
KEYWORDS_HELP = format_lazy(
    "{}<br><code>ждать</code> — {}<br><code>!помочь</code> — {}<br>"
    "<code>потерять+анализ</code> — {}<br><code>цена&gt;высокий|завышенный</code> — {}<br>"
    "<code>wait~room|area</code> — {}",
    _(
        "One keyword per line, in any form of the word: words are compared by their "
        "dictionary form, in Russian and in English."
    ),
    _("marks the reason unless negated (“ждать не пришлось” is no complaint);"),
    _("marks it only when negated (“не помогло”);"),
    _("all these words in one clause (“потеряли мои анализы”);"),
    _("the first word with one of the others within five words (“цены высокие”);"),
    _("the first word unless one of the others is within five words (“waiting room”)."),
)


class ReasonTagForm(ModelForm):
    class Meta:
        model = ReasonTag
        fields = ["key", "name", "name_en", "keywords", "is_active"]
        help_texts = {"keywords": KEYWORDS_HELP}

    def clean_keywords(self) -> str:
        keywords: str = self.cleaned_data["keywords"]
        problems = keyword_problems(keywords.splitlines())
        if problems:
            raise ValidationError(
                [
                    ValidationError(
                        _("Line %(number)s, “%(line)s”: %(problem)s."),
                        code="keyword",
                        params={"number": number, "line": line, "problem": problem},
                    )
                    for number, line, problem in problems
                ]
            )
        return keywords


@admin.register(ReasonTag)
class ReasonTagAdmin(admin.ModelAdmin):
    form = ReasonTagForm
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
admin_names_register(
    FeedbackSettings,
    accusative=pgettext_lazy("accusative", "feedback settings"),
    count=ngettext_lazy("%(count)s feedback settings", "%(count)s feedback settings", "count"),
)

# “You said, we did”: the improvements log (feedback.admin_improvements).
from . import admin_improvements  # noqa: E402,F401
