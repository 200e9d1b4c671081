"""The filter of the checklist completion page. It only parses input."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Branch
from clinic_crm.forms import DateField, DateInput

DEFAULT_DAYS = 30
DATE_WIDGET = DateInput(attrs={"class": "form-control form-control-sm"})


def default_period() -> tuple[date, date]:
    """The last 30 days, today included."""
    today = timezone.localdate()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


class ChecklistRatesFilterForm(forms.Form):
    date_from = DateField(label=_("From"), required=False, widget=DATE_WIDGET)
    date_to = DateField(label=_("To"), required=False, widget=DATE_WIDGET)
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.order_by("name"),
        required=False,
        empty_label=_("All branches"),
        label=_("Branch"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    @classmethod
    def from_query(cls, query) -> ChecklistRatesFilterForm:
        """Bound to the page's query string, an empty date meaning the default period."""
        data = query.copy()
        for name, value in zip(("date_from", "date_to"), default_period(), strict=True):
            if not data.get(name):
                data[name] = value.isoformat()
        return cls(data)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("“From” must not be after “To”."))
        return data
