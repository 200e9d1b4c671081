from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    name = "clinic_crm.catalogue"
    label = "catalogue"
    verbose_name = _("Clinic catalogue")

    def ready(self) -> None:
        from clinic_crm.staff.roles import Role, crud, role_permissions_register

        # Everyone reads the catalogue; managers keep it (never delete: visits refer to it).
        role_permissions_register(
            "catalogue",
            {
                Role.ADMINISTRATOR: ["view_branch", "view_specialty"],
                Role.DOCTOR: ["view_branch", "view_specialty"],
                Role.CURATOR: ["view_branch", "view_specialty"],
                Role.MANAGER: crud(
                    "branch", "specialty", "service", actions=("view", "add", "change")
                ),
            },
        )

        from clinic_crm.staff.home import home_card_register

        home_card_register(
            role=Role.MANAGER,
            url_name="admin:app_list",
            url_args=("catalogue",),
            title=_("Catalogue"),
            text=_("Branches, specialties and services."),
            icon="building",
            order=30,
        )
