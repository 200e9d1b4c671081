"""The Staff page's list: members with what it shows, filtered in the database."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import User
from .selectors import staff_with_devices

# Django marks an unusable password by this prefix (UNUSABLE_PASSWORD_PREFIX).
_UNUSABLE = "!"


def staff_members(
    *,
    q: str = "",
    role: str = "",
    branch_id: int | None = None,
    status: str = "",
) -> QuerySet[User]:
    """Members by name, role, branch and status ("active", "invited": the invitation
    was not accepted yet, "inactive"), with profile, groups and second-factor state."""
    members = staff_with_devices()
    q = (q or "").strip()
    if q:
        members = members.filter(
            Q(first_name__icontains=q) | Q(last_name__icontains=q) | Q(email__icontains=q)
        )
    if role:
        members = members.filter(groups__name=role)
    if branch_id:
        members = members.filter(profile__branch_id=branch_id)
    if status == "active":
        members = members.filter(is_active=True)
    elif status == "inactive":
        members = members.filter(is_active=False)
    elif status == "invited":
        members = members.filter(is_active=True, password__startswith=_UNUSABLE)
    return members.order_by("-is_active", "last_name", "first_name", "email")


def staff_member(user_id: int) -> User:
    """One member for the edit page (404 for an unknown id)."""
    return get_object_or_404(
        User.objects.select_related("profile__branch", "profile__specialty").prefetch_related(
            "groups"
        ),
        pk=user_id,
    )
