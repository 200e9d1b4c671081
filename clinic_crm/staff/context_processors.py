from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import Role

# (url name, label, icon, roles that see it); the pages of MANAGEMENT sit in one menu so
# that a manager's navigation fits a 1280 px laptop.
MANAGEMENT = {"journeys:checklist_rates", "messaging:outbox", "staff:staff_list", "audit:list"}
NAVIGATION = [
    ("staff:home", _("Home"), "house", tuple(Role.values)),
    (
        "journeys:calendar_day",
        _("Calendar"),
        "calendar3",
        (Role.ADMINISTRATOR, Role.DOCTOR, Role.MANAGER),
    ),
    ("patients:list", _("Patients"), "people", tuple(Role.values)),
    (
        "journeys:routing_queue",
        _("Routing queue"),
        "signpost-split",
        (Role.ADMINISTRATOR, Role.CURATOR),
    ),
    ("journeys:worklist", _("Worklist"), "list-check", (Role.CURATOR,)),
    ("metrics:dashboard", _("Loyalty"), "graph-up", (Role.MANAGER,)),
    (
        "metrics:report",
        _("Reports"),
        "graph-up",
        (Role.ADMINISTRATOR, Role.DOCTOR, Role.CURATOR),
    ),
    ("journeys:checklist_rates", _("Checklists"), "ui-checks", (Role.MANAGER,)),
    ("messaging:outbox", _("Messages"), "envelope", (Role.MANAGER,)),
    ("staff:staff_list", _("Staff"), "person-badge", (Role.MANAGER,)),
    ("audit:list", _("Audit log"), "journal-text", (Role.MANAGER,)),
]


def staff_navigation(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_verified()):
        return {"nav_items": []}
    current = getattr(getattr(request, "resolver_match", None), "view_name", "")
    items, management = [], []
    for name, label, icon, roles in NAVIGATION:
        if user.has_role(*roles):
            item = {"url": reverse(name), "label": label, "icon": icon, "active": name == current}
            (management if name in MANAGEMENT else items).append(item)
    role = user.role
    return {
        "nav_items": items,
        "nav_management": management,
        "nav_management_active": any(item["active"] for item in management),
        "user_role": role,
        "user_role_label": Role(role).label if role else "",
    }
