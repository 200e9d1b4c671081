from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "clinic_crm.staff"
    label = "staff"
    verbose_name = _("Staff")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import roles, signals  # noqa: F401

        # Not limited to this app's signal: permissions of apps listed after this one
        # exist only once their own post_migrate has run, so every app's run re-syncs.
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="staff_roles_sync")

        from clinic_crm.audit.describers import register_describer

        from .audit import describe_users

        # The audit log names staff members (a second factor reset) by name and email.
        register_describer("staff.User", describe_users)

        # Managers see the staff list and reset a member's second factor.
        roles.role_permissions_register(
            "staff", {roles.Role.MANAGER: ["view_user", "reset_second_factor"]}
        )

        from .navigation import nav_item_register

        # Every app puts its pages in the navigation bar (clinic_crm.staff.navigation).
        nav_item_register(
            url_name="staff:home", label=_("Home"), icon="house", roles=roles.Role.values, order=10
        )
        nav_item_register(
            url_name="staff:staff_list",
            label=_("Staff"),
            icon="person-badge",
            roles=[roles.Role.MANAGER],
            order=100,
            management=True,
        )

        from .home import home_card_register

        home_card_register(
            role=roles.Role.MANAGER,
            url_name="staff:staff_list",
            title=_("Staff"),
            text=_("Who works here, their roles and second-factor status."),
            icon="person-badge",
            order=10,
        )
