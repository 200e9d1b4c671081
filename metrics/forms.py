from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Branch, Specialty
from clinic_crm.forms import DateField, FastSelect, FilterForm
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role
from feedback.models import StageKind

from .trend import AUTO, MONTH, WEEK

MAX_DAYS = 3 * 366


class PeriodFilterForm(FilterForm):
    """A period, the last 12 months unless given; at most three years."""

    start = DateField(required=False, label=_("From"))
    end = DateField(required=False, label=_("To"))

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=364)
        if start > end:
            raise forms.ValidationError(_("“From” must not be after “To”."))
        if (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most three years at a time."))
        data["start"], data["end"] = start, end
        return data


class ReportFilterForm(PeriodFilterForm):
    """The staff report's period (its branch is the reader's own)."""


class DashboardFilterForm(PeriodFilterForm):
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.order_by("name"),
        required=False,
        label=_("Branch"),
        empty_label=_("All branches"),
        widget=FastSelect,
    )
    doctor = forms.ModelChoiceField(
        queryset=User.objects.filter(groups__name=Role.DOCTOR, is_active=True).order_by(
            "last_name", "first_name"
        ),
        required=False,
        label=_("Doctor"),
        empty_label=_("All doctors"),
        widget=FastSelect,
    )
    specialty = forms.ModelChoiceField(
        queryset=Specialty.objects.order_by("name"),
        required=False,
        label=_("Specialty"),
        empty_label=_("All specialties"),
        widget=FastSelect,
    )
    stage_kind = forms.ChoiceField(
        choices=[("", _("Any stage")), *StageKind.choices], required=False, label=_("Stage")
    )
    period = forms.ChoiceField(
        choices=[
            (AUTO, _("Automatic")),
            (WEEK, _("By week")),
            (MONTH, _("By month")),
        ],
        required=False,
        label=_("Series"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The options from plain rows, not model instances: hundreds of doctors on every
        # load of the dashboard. Choosing one still validates against the queryset.
        doctor = self.fields["doctor"]
        doctor.widget.choices = [
            ("", doctor.empty_label),
            *(
                (pk, User.name_of(*names))
                for pk, *names in doctor.queryset.values_list("pk", *User.NAME_COLUMNS)
            ),
        ]

    def clean(self):
        data = super().clean()
        data["period"] = data.get("period") or AUTO
        return data
