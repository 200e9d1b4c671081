from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from clinic_crm.messaging.models import MessageKind
        from clinic_crm.messaging.services.guards import kind_guard_register
        from clinic_crm.staff.roles import Role
        from journeys.services.visit_completion import visit_completed_register

        from . import audit, invitations, message_texts, message_texts_improvements, texts

        # The recovery call's title and feedback on the timeline in the reader's language.
        texts.register()
        # Completing a visit plans its survey invitation in the same transaction; the
        # outbox asks whether an invitation is still useful, and knows its words.
        visit_completed_register(invitations.visit_survey_plan)
        kind_guard_register(MessageKind.SURVEY, invitations.survey_timeliness)
        message_texts.register()
        message_texts_improvements.register()

        from clinic_crm.staff.home import home_provider_register
        from journeys.services.worklist import task_closed_register

        from . import home, kiosk, recovery

        # A recovery call that reached the patient plans the re-survey; overdue calls are
        # listed on the managers' home page.
        task_closed_register(recovery.recovery_resurvey_plan)
        home_provider_register(
            role=Role.MANAGER,
            provider=home.escalations_context,
            template="feedback/_home_escalations.html",
        )
        # The audit log names answers by the patient and the day (clinic_crm.audit).
        audit.register()
        kiosk.register()  # the reception tablets' home cards (feedback.kiosk)

        from django.db.models.signals import m2m_changed, post_delete, post_save

        from clinic_crm.messaging import caching

        from .models import CsiAttribute, FeedbackSettings, Survey

        # Every completion reads the settings and the active surveys: kept a few seconds
        # per process (invitations.active_surveys); a saved change forgets them at once.
        for model in (FeedbackSettings, Survey, CsiAttribute):
            name = model.__name__
            post_save.connect(caching.forget, sender=model, dispatch_uid=f"forget-{name}")
            post_delete.connect(caching.forget, sender=model, dispatch_uid=f"forget-{name}-d")
        m2m_changed.connect(
            caching.forget, sender=Survey.attributes.through, dispatch_uid="forget-survey-aspects"
        )

        from . import reason_tags
        from .models import ReasonTag
        from .reasons import lexicon_source_register

        # The tagger reads the managers' reason tags; saving one recompiles it at once.
        lexicon_source_register(reason_tags.clinic_lexicon)
        post_save.connect(reason_tags.forget, sender=ReasonTag, dispatch_uid="reason-tags-saved")
        post_delete.connect(
            reason_tags.forget, sender=ReasonTag, dispatch_uid="reason-tags-deleted"
        )

        from clinic_crm.staff.roles import crud, role_permissions_register

        # Managers keep the surveys, their aspects and the reason tags.
        role_permissions_register(
            "feedback",
            {
                Role.MANAGER: crud(
                    "survey", "csiattribute", "reasontag", "feedbacksettings", "improvement"
                )
            },
        )

        from clinic_crm.staff.navigation import nav_item_register

        # How often staff corrected the reasons found in comments (feedback.views_reasons).
        nav_item_register(
            url_name="feedback_staff:reason_agreement",
            label=_("Complaint reasons"),
            icon="tags",
            roles=[Role.MANAGER],
            order=85,
            management=True,
        )
