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

        from patients.card import card_link_register, card_panel_register

        from .views.card import journey_card_panel

        # The journey summary and its actions on the patient card (patients.card), and
        # the card's button to the treatment timeline.
        card_panel_register(key="journeys", provider=journey_card_panel, order=10)
        card_link_register(
            key="timeline",
            url_name="journeys:timeline",
            label=_("Treatment timeline"),
            icon="clock-history",
            order=10,
        )

        from clinic_crm.staff.home import home_card_register, home_provider_register
        from clinic_crm.staff.roles import Role

        from .views.home import doctor_home_context

        # The doctor's home page lists the day's visits; the roles' shortcut cards.
        home_provider_register(
            role=Role.DOCTOR,
            provider=doctor_home_context,
            template="journeys/_home_doctor_day.html",
        )
        cards = [
            (Role.ADMINISTRATOR, 10, "journeys:routing_queue", "signpost-split",
             _("Routing queue"), _("Patients who must be booked now, most urgent first.")),
            (Role.ADMINISTRATOR, 20, "journeys:calendar_day", "calendar3",
             _("Calendar"), _("Book, move and cancel visits; mark arrivals.")),
            (Role.DOCTOR, 10, "journeys:calendar_day", "calendar3",
             _("Calendar"), _("The branch's day and week.")),
            (Role.CURATOR, 10, "journeys:worklist", "list-check",
             _("Worklist"), _("Tasks due, riskiest journeys first.")),
            (Role.CURATOR, 20, "journeys:routing_queue", "signpost-split",
             _("Routing queue"), _("Patients who must be booked now.")),
        ]  # fmt: skip
        for role, order, url_name, icon, title, text in cards:
            home_card_register(
                role=role, url_name=url_name, title=title, text=text, icon=icon, order=order
            )
        home_card_register(
            role=Role.MANAGER,
            url_name="admin:app_list",
            url_args=("journeys",),
            title=_("Working hours"),
            text=_("Doctors' working hours, days off and visit checklists."),
            icon="clock",
            order=40,
        )

        from clinic_crm.staff.roles import crud, role_permissions_register

        # Managers keep doctors' hours, days off, the visit checklists and the pre-visit
        # questionnaires (admin site).
        role_permissions_register(
            "journeys",
            {
                Role.MANAGER: crud(
                    "workinghours",
                    "scheduleexception",
                    "checklisttemplate",
                    "checklistitem",
                    "screeningform",
                    "screeningquestion",
                )
            },
        )

        from clinic_crm.staff.navigation import nav_item_register

        # The journeys' pages in the navigation bar.
        nav_item_register(
            url_name="journeys:calendar_day",
            label=_("Calendar"),
            icon="calendar3",
            roles=[Role.ADMINISTRATOR, Role.DOCTOR, Role.MANAGER],
            order=20,
        )
        nav_item_register(
            url_name="journeys:routing_queue",
            label=_("Routing queue"),
            icon="signpost-split",
            roles=[Role.ADMINISTRATOR, Role.CURATOR],
            order=40,
        )
        nav_item_register(
            url_name="journeys:worklist",
            label=_("Worklist"),
            icon="list-check",
            roles=[Role.CURATOR],
            order=50,
        )
        nav_item_register(
            url_name="journeys:checklist_rates",
            label=_("Checklists"),
            icon="ui-checks",
            roles=[Role.MANAGER],
            order=80,
            management=True,
        )
