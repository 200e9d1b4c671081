from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from . import audit, texts

        # The recovery call's title and feedback on the timeline in the reader's language.
        texts.register()
        # The audit log names answers by the patient and the day (clinic_crm.audit).
        audit.register()

        from clinic_crm.staff.roles import Role, crud, role_permissions_register

        # Managers keep the surveys, their aspects and the reason tags.
        role_permissions_register(
            "feedback", {Role.MANAGER: crud("survey", "csiattribute", "reasontag")}
        )
