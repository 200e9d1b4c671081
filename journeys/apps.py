from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = _("Patient journeys")

    def ready(self) -> None:
        from . import access, audit, message_texts, texts_builtin

        # Care in the journeys' data opens a patient's record (patients.access).
        access.register()
        # Tasks' and handoffs' changes are audited; the log names the journeys' records.
        audit.register()
        # Stored tasks and events are written in the reader's language (journeys.texts).
        texts_builtin.register()
        # The template variables and built-in wording of the journeys' messages.
        message_texts.register()

        from .services import departures, messages

        # A deactivated member's open tasks go back to their branch.
        departures.register()
        # The journeys' daily message rules, the links in messages, the reminders' guard.
        messages.register()

        from patients.card import card_panel_register

        from .views.card import journey_card_panel

        # The journey summary and its actions on the patient card (patients.card).
        card_panel_register(key="journeys", provider=journey_card_panel, order=10)

        from clinic_crm.staff.home import home_provider_register
        from clinic_crm.staff.roles import Role

        from .views.home import doctor_home_context

        # The doctor's home page lists the day's visits.
        home_provider_register(role=Role.DOCTOR, provider=doctor_home_context)

        from clinic_crm.staff.roles import crud, role_permissions_register

        # Managers keep doctors' hours, days off and the visit checklists (admin site).
        role_permissions_register(
            "journeys",
            {
                Role.MANAGER: crud(
                    "workinghours", "scheduleexception", "checklisttemplate", "checklistitem"
                )
            },
        )
