"""Managers set the clinic's messaging rules and the wording of messages here; the
outbox itself is read on the Messages page, never edited."""

from django.contrib import admin

from .models import MessageTemplate, MessagingSettings


@admin.register(MessagingSettings)
class MessagingSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "reminder_24h", "reminder_2h", "weekly_cap", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return not MessagingSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "language", "channel", "subject", "updated_at", "updated_by"]
    list_filter = ["kind", "language", "channel"]
    readonly_fields = ["updated_at", "updated_by"]

    def save_model(self, request, obj, form, change) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
