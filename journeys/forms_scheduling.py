"""Forms of the calendar: book, move, cancel, status step (the slot search's form is in
``journeys.forms_slots``). They only parse input; every rule lives in
``journeys.services.visits``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from clinic_crm import limits
from clinic_crm.catalogue.models import Branch, Service
from clinic_crm.forms import DateField, DateInput, TextField
from journeys import selectors_scheduling as selectors
from journeys.models import Handoff, Stage
from journeys.services.availability import local_datetime
from patients.models import Patient

DATE_WIDGET = DateInput(attrs={"class": "form-control"})
TIME_WIDGET = forms.TimeInput(
    attrs={"type": "time", "class": "form-control", "step": 300}, format="%H:%M"
)
SELECT = {"class": "form-select"}


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Service) -> str:
        return _("%(specialty)s · %(service)s, %(minutes)s min") % {
            "specialty": obj.specialty,
            "service": obj.name,
            "minutes": obj.duration_minutes,
        }


class DoctorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        specialty = getattr(getattr(obj, "profile", None), "specialty", None)
        name = str(obj)
        return f"{name} · {specialty}" if specialty else name


class _WhenMixin:
    """``date`` + ``time`` read as wall-clock time at the branch."""

    def starts_at(self, branch: Branch) -> datetime:
        return local_datetime(branch, self.cleaned_data["date"], self.cleaned_data["time"])


class BookingForm(_WhenMixin, forms.Form):
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        error_messages={"required": _("Find the patient and choose them in the list.")},
    )
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.order_by("name"),
        label=_("Branch"),
        widget=forms.Select(attrs=SELECT),
    )
    doctor = DoctorChoiceField(
        queryset=selectors.doctors_at(), label=_("Doctor"), widget=forms.Select(attrs=SELECT)
    )
    service = ServiceChoiceField(
        queryset=selectors.services_bookable(),
        label=_("Service"),
        widget=forms.Select(attrs=SELECT),
    )
    date = DateField(label=_("Date"), widget=DATE_WIDGET)
    time = forms.TimeField(label=_("Time"), widget=TIME_WIDGET)
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.all(), required=False, widget=forms.HiddenInput
    )
    handoff = forms.ModelChoiceField(
        queryset=Handoff.objects.all(), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, branch: Branch | None = None, branches=None, patients=None, **kwargs):
        super().__init__(*args, **kwargs)
        if branch is not None:
            self.fields["doctor"].queryset = selectors.doctors_at(branch=branch)
        if branches is not None:
            self.fields["branch"].queryset = branches
        if patients is not None:
            # A patient the user may not see is "not one of the choices", like an id that
            # does not exist.
            self.fields["patient"].queryset = patients.filter(merged_into__isnull=True)


class MoveForm(_WhenMixin, forms.Form):
    date = DateField(label=_("Date"), widget=DATE_WIDGET)
    time = forms.TimeField(label=_("Time"), widget=TIME_WIDGET)
    doctor = DoctorChoiceField(
        queryset=selectors.doctors_at(), label=_("Doctor"), widget=forms.Select(attrs=SELECT)
    )

    def __init__(self, *args, branch: Branch | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if branch is not None:
            self.fields["doctor"].queryset = selectors.doctors_at(branch=branch)


class CancelForm(forms.Form):
    BY_PATIENT = "patient"
    BY_CLINIC = "clinic"

    by = forms.ChoiceField(
        label=_("Who cancels"),
        choices=[(BY_PATIENT, _("The patient")), (BY_CLINIC, _("The clinic"))],
        initial=BY_PATIENT,
        widget=forms.RadioSelect,
    )
    reason = TextField(
        label=_("Reason"),
        max_length=limits.SHORT,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        error_messages={"required": _("Say why the visit is cancelled.")},
    )


class StatusForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("confirm", _("Confirm")),
            ("arrive", _("Mark arrival")),
            ("start", _("Start the visit")),
            ("no_show", _("Mark no-show")),
        ]
    )


def end_preview(form: forms.Form) -> datetime | None:
    """The end time the booking form shows as soon as service, date and time are known."""
    data = form.data if form.is_bound else form.initial
    try:
        service = Service.objects.get(pk=int(data.get("service")))
        branch = Branch.objects.get(pk=int(data.get("branch")))
        day = form.fields["date"].clean(data.get("date"))
        at = form.fields["time"].clean(data.get("time"))
    except (
        TypeError,
        ValueError,
        forms.ValidationError,
        Service.DoesNotExist,
        Branch.DoesNotExist,
    ):
        return None
    if day is None or at is None:
        return None
    return local_datetime(branch, day, at) + timedelta(minutes=service.duration_minutes)
