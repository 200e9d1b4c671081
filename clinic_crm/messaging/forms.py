from django import forms
from django.utils.translation import gettext_lazy as _

from clinic_crm.forms import DateField, FilterForm

from .models import Message, MessageChannel, MessageKind


class OutboxFilterForm(FilterForm):
    status = forms.ChoiceField(
        choices=[("", _("Any status")), *Message.Status.choices], required=False, label=_("Status")
    )
    kind = forms.ChoiceField(
        choices=[("", _("Any kind")), *MessageKind.choices], required=False, label=_("Kind")
    )
    channel = forms.ChoiceField(
        choices=[("", _("Any channel")), *MessageChannel.choices],
        required=False,
        label=_("Channel"),
    )
    date_from = DateField(required=False, label=_("From"))
    date_to = DateField(required=False, label=_("To"))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("“From” must not be after “To”."))
        if start and end and (end - start).days > 92:
            raise forms.ValidationError(_("Choose at most three months at a time."))
        return data
