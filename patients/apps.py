from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients")

    def ready(self) -> None:
        from . import audit

        # The audit log names cards and consents by the patient (clinic_crm.audit).
        audit.register()

        from clinic_crm.staff.roles import Role, role_permissions_register

        front_desk = [
            "view_patient",
            "add_patient",
            "change_patient",
            "view_consentrecord",
            "add_consentrecord",
            "view_familygroup",
            "add_familygroup",
            "change_familygroup",
        ]
        readers = ["view_patient", "view_consentrecord", "view_familygroup"]
        role_permissions_register(
            "patients",
            {
                Role.ADMINISTRATOR: [*front_desk, "merge_patient"],
                Role.DOCTOR: readers,
                Role.CURATOR: front_desk,
                Role.MANAGER: [*readers, "merge_patient"],
            },
        )

        from clinic_crm.staff.navigation import nav_item_register

        nav_item_register(
            url_name="patients:list",
            label=_("Patients"),
            icon="people",
            roles=Role.values,
            order=30,
        )

        from clinic_crm.staff.home import home_card_register

        find = _("Find a patient by name or phone.")
        home_card_register(
            role=Role.ADMINISTRATOR,
            url_name="patients:create",
            title=_("New patient"),
            text=_("Register a patient; duplicates are flagged."),
            icon="person-plus",
            order=30,
        )
        for role, order, text in (
            (Role.ADMINISTRATOR, 40, find),
            (Role.DOCTOR, 20, _("Open a patient's card and treatment timeline.")),
            (Role.CURATOR, 30, find),
            (Role.MANAGER, 50, find),
        ):
            home_card_register(
                role=role,
                url_name="patients:list",
                title=_("Patients"),
                text=text,
                icon="people",
                order=order,
            )
