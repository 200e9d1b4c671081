"""How the admin names a model inside its phrases, in correct Russian.

Django's admin builds "Add %s", "Select %s to change" and "9 %s" from ``verbose_name``
and ``verbose_name_plural``, which are nominative: "Добавить причина", "Выберите услуга
для изменения", "9 сотрудники". Each app registers, next to its ModelAdmin, the name as
the object of a verb (``pgettext_lazy("accusative", …)``: "причину", "услугу") and its
count with every plural form (``ngettext_lazy(…, "count")``: "1 сотрудник", "3 сотрудника",
"9 сотрудников"); the admin's templates (templates/admin/) ask for them through the
``admin_names`` template tags. English reads as Django wrote it.

The core's and third-party models are registered here; tests/test_admin_russian.py
checks that every model in the admin has its names.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model
from django.utils.functional import Promise
from django.utils.translation import ngettext_lazy, pgettext_lazy


@dataclass(frozen=True)
class AdminNames:
    accusative: Promise  # "причину": the object of "Добавить …", "Выберите … для изменения"
    count: Promise  # ngettext_lazy(singular, plural, "count"): "%(count)s причин"

    def count_text(self, count: int) -> str:
        return self.count % {"count": count}


_names: dict[str, AdminNames] = {}


def admin_names_register(model: type[Model] | str, *, accusative: Promise, count: Promise) -> None:
    """Registers the names the admin uses for ``model`` (a class or "app_label.model")."""
    label = model if isinstance(model, str) else model._meta.label_lower
    _names[label.lower()] = AdminNames(accusative=accusative, count=count)


def admin_names(opts) -> AdminNames | None:
    """The registered names of the model behind ``opts`` (its ``_meta``), if any."""
    return _names.get(opts.label_lower)


admin_names_register(
    "auth.group",
    accusative=pgettext_lazy("accusative", "group"),
    count=ngettext_lazy("%(count)s group", "%(count)s groups", "count"),
)
admin_names_register(
    "otp_totp.totpdevice",
    accusative=pgettext_lazy("accusative", "TOTP device"),
    count=ngettext_lazy("%(count)s TOTP device", "%(count)s TOTP devices", "count"),
)
admin_names_register(
    "otp_static.staticdevice",
    accusative=pgettext_lazy("accusative", "static device"),
    count=ngettext_lazy("%(count)s static device", "%(count)s static devices", "count"),
)
admin_names_register(
    "axes.accessattempt",
    accusative=pgettext_lazy("accusative", "access attempt"),
    count=ngettext_lazy("%(count)s access attempt", "%(count)s access attempts", "count"),
)
admin_names_register(
    "axes.accesslog",
    accusative=pgettext_lazy("accusative", "access log"),
    count=ngettext_lazy("%(count)s access log", "%(count)s access logs", "count"),
)
admin_names_register(
    "axes.accessfailurelog",
    accusative=pgettext_lazy("accusative", "access failure"),
    count=ngettext_lazy("%(count)s access failure", "%(count)s access failures", "count"),
)
admin_names_register(
    "audit.auditevent",
    accusative=pgettext_lazy("accusative", "audit event"),
    count=ngettext_lazy("%(count)s audit event", "%(count)s audit events", "count"),
)
