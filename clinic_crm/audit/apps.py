from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "clinic_crm.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self):
        from clinic_crm.audit import checks  # noqa: F401 - registers the database role check
