"""Admin pieces more than one app uses."""

from django.contrib import admin


class SingletonSettingsAdmin(admin.ModelAdmin):
    """A one-row settings model: it can be added once (if missing) and never deleted."""

    def has_add_permission(self, request) -> bool:
        return not self.model.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
