from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "clinic_crm.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self):
        from celery.signals import task_postrun, task_prerun

        from clinic_crm.audit import checks  # noqa: F401 - registers the database role check

        from .context import task_context_enter, task_context_leave

        # Events written by a Celery task name the task (audit context).
        task_prerun.connect(task_context_enter, dispatch_uid="audit-task-context-enter")
        task_postrun.connect(task_context_leave, dispatch_uid="audit-task-context-leave")

        from clinic_crm.staff.roles import Role, role_permissions_register

        role_permissions_register("audit", {Role.MANAGER: ["view_auditevent"]})

        from clinic_crm.staff.navigation import nav_item_register

        nav_item_register(
            url_name="audit:list",
            label=_("Audit log"),
            icon="journal-text",
            roles=[Role.MANAGER],
            order=110,
            management=True,
        )

        from clinic_crm.staff.home import home_card_register

        home_card_register(
            role=Role.MANAGER,
            url_name="audit:list",
            title=_("Audit log"),
            text=_("Who opened or changed which record, and every login."),
            icon="journal-text",
            order=20,
        )
