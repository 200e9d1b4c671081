from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = _("Patient journeys")

    def ready(self) -> None:
        from . import access

        # Care in the journeys' data opens a patient's record (patients.access).
        access.register()
