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
