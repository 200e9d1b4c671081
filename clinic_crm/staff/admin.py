from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from clinic_crm.admin_names import admin_names_register

from .models import StaffProfile, User
from .roles import Role


def group_label(group: Group) -> str:
    """A role's group by its translated name ("Врач"); the code stays the group's name,
    which clinic_crm.staff.roles looks groups up by."""
    try:
        return str(Role(group.name).label)
    except ValueError:
        return group.name


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False


class RoleFilter(admin.SimpleListFilter):
    """Staff by role, named in the reader's language (the groups' names are codes)."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() in Role.values:
            return queryset.filter(groups__name=self.value())
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    list_filter = ["is_staff", "is_superuser", "is_active", RoleFilter]
    search_fields = ["email", "first_name", "last_name"]
    inlines = [StaffProfileInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and field is not None:
            field.label_from_instance = group_label
        return field


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(DjangoGroupAdmin):
    """Staff roles are groups named by their code ("doctor"); the admin shows the role's
    name in the reader's language next to it."""

    list_display = ["role_name", "role_code"]

    @admin.display(description=_("role"), ordering="name")
    def role_name(self, group: Group) -> str:
        return group_label(group)

    @admin.display(description=_("code"), ordering="name")
    def role_code(self, group: Group) -> str:
        return group.name


# The names the admin's phrases use, in the case Russian needs (clinic_crm.admin_names).
admin_names_register(
    User,
    accusative=pgettext_lazy("accusative", "staff member"),
    count=ngettext_lazy("%(count)s staff member", "%(count)s staff members", "count"),
)
