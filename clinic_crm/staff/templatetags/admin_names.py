"""The admin's phrases with a model's name in the case Russian needs (clinic_crm.admin_names).

Used by the overridden admin templates (templates/admin/): the add button, the titles of
the change list and the change form, the breadcrumbs and the result count.
"""

from __future__ import annotations

from django import template
from django.utils.translation import npgettext, pgettext

from clinic_crm.admin_names import admin_names

register = template.Library()


def _object_name(opts) -> str:
    names = admin_names(opts)
    return str(names.accusative) if names is not None else str(opts.verbose_name)


@register.simple_tag
def admin_add_label(opts) -> str:
    """ "Добавить причину" / "Add reason"."""
    return pgettext("admin", "Add %(name)s") % {"name": _object_name(opts)}


@register.simple_tag
def admin_result_count(opts, count: int) -> str:
    """ "9 сотрудников", "1 сотрудник", "3 сотрудника"."""
    names = admin_names(opts)
    if names is not None:
        return names.count_text(count)
    return npgettext("admin", "%(count)s object", "%(count)s objects", count) % {"count": count}


@register.simple_tag(takes_context=True)
def admin_title(context) -> str:
    """The page title the admin's views compute from the nominative name, in the right
    case: the change list ("Выберите услугу для изменения") or the change form
    ("Добавить услугу", "Изменить услугу", "Просмотреть услугу")."""
    opts = context.get("opts")
    if opts is None:
        return context.get("title", "")
    name = _object_name(opts)
    changelist = context.get("cl")
    if changelist is not None:
        if changelist.is_popup:
            return pgettext("admin", "Select %(name)s") % {"name": name}
        if changelist.model_admin.has_change_permission(context["request"]):
            return pgettext("admin", "Select %(name)s to change") % {"name": name}
        return pgettext("admin", "Select %(name)s to view") % {"name": name}
    if context.get("add"):
        return pgettext("admin", "Add %(name)s") % {"name": name}
    if context.get("change") and "has_change_permission" in context:
        if context["has_change_permission"]:
            return pgettext("admin", "Change %(name)s") % {"name": name}
        return pgettext("admin", "View %(name)s") % {"name": name}
    return context.get("title", "")
