"""How the audit log names staff members: "Anna Petrova (anna@clinic.example)"."""

from __future__ import annotations

from clinic_crm.audit.describers import int_ids

from .models import User


def describe_users(ids: list[str]) -> dict[str, str]:
    rows = User.objects.filter(pk__in=int_ids(ids)).values_list("pk", *User.NAME_COLUMNS)
    names = {}
    for pk, first_name, last_name, email in rows:
        name = User.name_of(first_name, last_name, email)
        names[str(pk)] = name if name == email else f"{name} ({email})"
    return names
