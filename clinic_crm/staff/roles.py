"""Staff roles. Each role is a Django group; its permissions are declared here so that
`migrate` keeps the groups in step with the code."""

from __future__ import annotations

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    DOCTOR = "doctor", _("Doctor")
    CURATOR = "curator", _("Curator")
    MANAGER = "manager", _("Manager")


# "app_label.codename" permissions per role. Later apps add their own.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.ADMINISTRATOR: [
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_consentrecord",
        "patients.add_consentrecord",
        "patients.view_familygroup",
        "patients.add_familygroup",
        "patients.change_familygroup",
        "patients.merge_patient",
        "catalogue.view_branch",
        "catalogue.view_specialty",
    ],
    Role.DOCTOR: [
        "patients.view_patient",
        "patients.view_consentrecord",
        "patients.view_familygroup",
        "catalogue.view_branch",
        "catalogue.view_specialty",
    ],
    Role.CURATOR: [
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_consentrecord",
        "patients.add_consentrecord",
        "patients.view_familygroup",
        "patients.add_familygroup",
        "patients.change_familygroup",
        "catalogue.view_branch",
        "catalogue.view_specialty",
    ],
    Role.MANAGER: [
        "patients.view_patient",
        "patients.view_consentrecord",
        "patients.view_familygroup",
        "patients.merge_patient",
        "catalogue.view_branch",
        "catalogue.view_specialty",
        "catalogue.add_branch",
        "catalogue.change_branch",
        "catalogue.add_specialty",
        "catalogue.change_specialty",
        "catalogue.view_service",
        "catalogue.add_service",
        "catalogue.change_service",
        "journeys.view_workinghours",
        "journeys.add_workinghours",
        "journeys.change_workinghours",
        "journeys.delete_workinghours",
        "journeys.view_scheduleexception",
        "journeys.add_scheduleexception",
        "journeys.change_scheduleexception",
        "journeys.delete_scheduleexception",
        "journeys.view_checklisttemplate",
        "journeys.add_checklisttemplate",
        "journeys.change_checklisttemplate",
        "journeys.delete_checklisttemplate",
        "journeys.view_checklistitem",
        "journeys.add_checklistitem",
        "journeys.change_checklistitem",
        "journeys.delete_checklistitem",
        "audit.view_auditevent",
        "staff.view_user",
        "staff.reset_second_factor",
        "messaging.view_messagingsettings",
        "messaging.change_messagingsettings",
        "messaging.view_messagetemplate",
        "messaging.add_messagetemplate",
        "messaging.change_messagetemplate",
        "messaging.delete_messagetemplate",
        "messaging.view_holiday",
        "messaging.add_holiday",
        "messaging.change_holiday",
        "messaging.delete_holiday",
        "metrics.view_metricssettings",
        "metrics.change_metricssettings",
        *(
            f"feedback.{action}_{model}"
            for model in ("survey", "csiattribute", "reasontag")
            for action in ("view", "add", "change", "delete")
        ),
    ],
}


def roles_sync(**_kwargs) -> None:
    """Creates the role groups and sets exactly the declared permissions on each."""
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)


def roles_sync_after_migrate(**kwargs) -> None:
    roles_sync(**kwargs)
