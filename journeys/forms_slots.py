"""The slot finder's search form. It only parses and checks the input; the slots are read
by ``journeys.selectors_slots``."""

from __future__ import annotations

from datetime import date, time, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Branch, Specialty
from clinic_crm.forms import DateField
from journeys import selectors_scheduling as selectors
from journeys.forms_scheduling import (
    DATE_WIDGET,
    SELECT,
    DoctorChoiceField,
    ServiceChoiceField,
)
from journeys.selectors_slots import DAY_PARTS, DEFAULT_SEARCH_DAYS, MAX_SEARCH_DAYS

TIME_OF_DAY_WIDGET = forms.TimeInput(
    attrs={"type": "time", "class": "form-control", "step": 900}, format="%H:%M"
)


class SlotSearchForm(forms.Form):
    """Where, what, with whom, which days and which part of the day. The range is
    ``date`` to ``until`` (both included; by default two weeks), at most a month."""

    branch = forms.ModelChoiceField(
        queryset=Branch.objects.order_by("name"),
        label=_("Branch"),
        widget=forms.Select(attrs=SELECT),
    )
    service = ServiceChoiceField(
        queryset=selectors.services_bookable(),
        label=_("Service"),
        widget=forms.Select(attrs=SELECT),
    )
    specialty = forms.ModelChoiceField(
        queryset=Specialty.objects.order_by("name"),
        required=False,
        label=_("Specialty"),
        empty_label=_("The service's specialty"),
        widget=forms.Select(attrs=SELECT),
    )
    doctor = DoctorChoiceField(
        queryset=selectors.doctors_at(),
        required=False,
        label=_("Doctor"),
        empty_label=_("Any doctor"),
        widget=forms.Select(attrs=SELECT),
    )
    date = DateField(label=_("From"), widget=DATE_WIDGET)
    until = DateField(label=_("To"), required=False, widget=DATE_WIDGET)
    part = forms.ChoiceField(
        label=_("Part of the day"),
        required=False,
        choices=[
            ("", _("Any part of the day")),
            ("morning", _("Morning (before 12:00)")),
            ("afternoon", _("Afternoon (12:00–17:00)")),
            ("evening", _("Evening (from 17:00)")),
        ],
        widget=forms.Select(attrs=SELECT),
    )
    time_from = forms.TimeField(label=_("Starting from"), required=False, widget=TIME_OF_DAY_WIDGET)
    time_to = forms.TimeField(label=_("Starting before"), required=False, widget=TIME_OF_DAY_WIDGET)

    def __init__(self, *args, branches=None, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        if branches is not None:
            self.fields["branch"].queryset = Branch.objects.filter(
                pk__in=[b.pk for b in branches]
            ).order_by("name")

    def clean(self):
        data = super().clean()
        first, last = data.get("date"), data.get("until")
        if first is not None:
            if last is None:
                last = data["until"] = first + timedelta(days=DEFAULT_SEARCH_DAYS - 1)
            if last < first:
                self.add_error(
                    "until",
                    _("The range ends before it starts: choose a day from %(first)s on.")
                    % {"first": first.strftime("%d.%m.%Y")},
                )
            elif (last - first).days + 1 > MAX_SEARCH_DAYS:
                self.add_error(
                    "until",
                    _(
                        "Search at most %(max)s days at a time; this range has %(days)s. "
                        "Search the next days after these."
                    )
                    % {"max": MAX_SEARCH_DAYS, "days": (last - first).days + 1},
                )
            elif self.today is not None and last < self.today:
                self.add_error(
                    "until",
                    _("These days are over; search from today, %(today)s, on.")
                    % {"today": self.today.strftime("%d.%m.%Y")},
                )
        starts_from, starts_before = data.get("time_from"), data.get("time_to")
        if starts_from and starts_before and starts_from >= starts_before:
            self.add_error("time_to", _("Make the second time later than the first."))
        return data

    def days(self) -> tuple[date, date]:
        """The days to search: from today at the earliest."""
        first, last = self.cleaned_data["date"], self.cleaned_data["until"]
        if self.today is not None:
            first = max(first, self.today)
        return first, last

    def day_part(self) -> tuple[time | None, time | None]:
        """Slots start in [from, before): typed times win over the named part of the day."""
        data = self.cleaned_data
        if data.get("time_from") or data.get("time_to"):
            return data.get("time_from"), data.get("time_to")
        if data.get("part") in DAY_PARTS:
            return DAY_PARTS[data["part"]]
        return None, None
