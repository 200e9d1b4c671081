from django import forms
from django.utils.translation import gettext_lazy as _

from clinic_crm.forms import DateField, FilterForm
from clinic_crm.staff.models import User

from .describers import describable_types
from .models import AuditAction


class AuditFilterForm(FilterForm):
    actor = forms.ModelChoiceField(
        queryset=User.objects.order_by("email"),
        required=False,
        label=_("User"),
        empty_label=_("Anyone"),
    )
    action = forms.ChoiceField(
        choices=[("", _("Any action")), *AuditAction.choices], required=False, label=_("Action")
    )
    object_type = forms.ChoiceField(choices=(), required=False, label=_("Record"))
    patient_id = forms.IntegerField(required=False, min_value=1, label=_("Patient id"))
    date_from = DateField(required=False, label=_("From"))
    date_to = DateField(required=False, label=_("To"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", _("Any record")), *describable_types()]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("“From” must not be after “To”."))
        return data
