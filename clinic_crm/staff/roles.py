"""Staff roles. Each role is a Django group; the apps declare the permissions each role has
on their models (``role_permissions_register``), and `migrate` keeps the groups in step
with the code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    DOCTOR = "doctor", _("Doctor")
    CURATOR = "curator", _("Curator")
    MANAGER = "manager", _("Manager")


# Each app grants the roles permissions on its own models, in its ``AppConfig.ready``:
# role -> codenames of that app ("view_patient"). The staff app knows no other app's names.
_grants: dict[str, set[str]] = {role: set() for role in Role}


def role_permissions_register(app_label: str, grants: Mapping[str, Iterable[str]]) -> None:
    """Adds ``app_label``'s permissions ``{role: codenames}`` to the roles' groups (synced
    after every ``migrate``). Registering again adds nothing twice."""
    for role, codenames in grants.items():
        _grants[Role(role)].update(f"{app_label}.{codename}" for codename in codenames)


def role_permissions() -> dict[str, list[str]]:
    """Every role's permissions as "app_label.codename", sorted."""
    return {role: sorted(names) for role, names in _grants.items()}


def crud(*models: str, actions: Iterable[str] = ("view", "add", "change", "delete")) -> list[str]:
    """Codenames of ``actions`` on ``models``: crud("holiday") -> view_holiday, …"""
    return [f"{action}_{model}" for model in models for action in actions]


def roles_sync(**_kwargs) -> None:
    """Creates the role groups and sets exactly the declared permissions on each."""
    from django.contrib.auth.models import Group, Permission

    for role, names in role_permissions().items():
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
