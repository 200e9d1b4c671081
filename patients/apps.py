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
