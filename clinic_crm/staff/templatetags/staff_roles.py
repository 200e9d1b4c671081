"""Role codes as the reader's language names them ("doctor" → "Врач" / "Doctor")."""

from __future__ import annotations

from django import template

from clinic_crm.staff.roles import Role

register = template.Library()


@register.filter
def role_label(code: str | None) -> str:
    """The translated label of a role code; an unknown code is shown as it is."""
    if not code:
        return ""
    try:
        return str(Role(code).label)
    except ValueError:
        return code
