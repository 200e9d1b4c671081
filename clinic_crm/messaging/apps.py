from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "clinic_crm.messaging"
    label = "messaging"
    verbose_name = _("Patient messages")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .caching import forget
        from .models import Holiday, MessageTemplate, MessagingSettings

        for model in (MessagingSettings, MessageTemplate, Holiday):
            post_save.connect(forget, sender=model, dispatch_uid=f"forget-{model.__name__}")
            post_delete.connect(forget, sender=model, dispatch_uid=f"forget-{model.__name__}-d")

        from . import audit, checks  # noqa: F401 - checks registers the lease check

        # The audit log names messages by the patient, kind and time (clinic_crm.audit).
        audit.register()

        from clinic_crm.staff.roles import Role, crud, role_permissions_register

        # Managers set the messaging rules and keep the templates and the holidays.
        role_permissions_register(
            "messaging",
            {
                Role.MANAGER: [
                    "view_messagingsettings",
                    "change_messagingsettings",
                    *crud("messagetemplate", "holiday"),
                ]
            },
        )

        from clinic_crm.staff.navigation import nav_item_register

        nav_item_register(
            url_name="messaging:outbox",
            label=_("Messages"),
            icon="envelope",
            roles=[Role.MANAGER],
            order=90,
            management=True,
        )
