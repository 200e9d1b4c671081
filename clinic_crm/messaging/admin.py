"""Managers set the clinic's messaging rules and the wording of messages here; the
outbox itself is read on the Messages page, never edited."""

from django.contrib import admin
from django.template import TemplateSyntaxError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin import SingletonSettingsAdmin
from clinic_crm.admin_names import admin_names_register

from .models import Holiday, MessageTemplate, MessagingSettings
from .rendering import TEMPLATE_VARIABLES, example_render


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name"]


@admin.register(MessagingSettings)
class MessagingSettingsAdmin(SingletonSettingsAdmin):
    list_display = ["__str__", "reminder_24h", "reminder_2h", "weekly_cap", "updated_at"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "language", "channel", "subject", "updated_at", "updated_by"]
    list_filter = ["kind", "language", "channel"]
    readonly_fields = ["variables", "preview", "updated_at", "updated_by"]
    fields = ["kind", "language", "channel", "subject", "body", "variables", "preview"]

    class Media:
        js = ["messaging/template_preview.js"]  # live preview while typing

    @admin.display(description=_("Variables"))
    def variables(self, obj) -> str:
        return format_html_join(
            mark_safe("<br>"),
            "<code>{}</code>{}",
            (
                (name, f": {', '.join(attrs)}" if attrs else "")
                for name, attrs in TEMPLATE_VARIABLES.items()
            ),
        )

    @admin.display(description=_("Saved text, example patient"))
    def preview(self, obj) -> str:
        if obj is None or not obj.pk:
            return _("Save to see the preview.")
        try:
            subject, body = example_render(
                subject=obj.subject, body=obj.body, language=obj.language
            )
        except TemplateSyntaxError as error:  # saved before the sandbox refused it
            return format_html('<span style="color: #ba2121">{}</span>', error)
        return format_html(
            '<div style="white-space: pre-wrap; max-width: 40rem"><strong>{}</strong>\n{}</div>',
            subject,
            body,
        )

    def save_model(self, request, obj, form, change) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


# The names the admin's phrases use, in the case Russian needs (clinic_crm.admin_names).
admin_names_register(
    Holiday,
    accusative=pgettext_lazy("accusative", "holiday"),
    count=ngettext_lazy("%(count)s holiday", "%(count)s holidays", "count"),
)
admin_names_register(
    MessagingSettings,
    accusative=pgettext_lazy("accusative", "messaging settings"),
    count=ngettext_lazy(
        "%(count)s messaging settings record", "%(count)s messaging settings records", "count"
    ),
)
admin_names_register(
    MessageTemplate,
    accusative=pgettext_lazy("accusative", "message template"),
    count=ngettext_lazy("%(count)s message template", "%(count)s message templates", "count"),
)
