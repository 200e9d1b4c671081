from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients")

    def ready(self) -> None:
        from . import audit

        # The audit log names cards and consents by the patient (clinic_crm.audit).
        audit.register()
