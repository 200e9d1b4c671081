from django.urls import reverse

from .navigation import nav_items
from .roles import Role


def staff_navigation(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_verified()):
        return {"nav_items": []}
    current = getattr(getattr(request, "resolver_match", None), "view_name", "")
    items, management = [], []
    for nav in nav_items():
        if user.has_role(*nav.roles):
            item = {
                "url": reverse(nav.url_name),
                "label": nav.label,
                "icon": nav.icon,
                "active": nav.url_name == current,
            }
            (management if nav.management else items).append(item)
    role = user.role
    return {
        "nav_items": items,
        "nav_management": management,
        "nav_management_active": any(item["active"] for item in management),
        "user_role": role,
        "user_role_label": Role(role).label if role else "",
    }
