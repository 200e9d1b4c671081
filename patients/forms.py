from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Branch
from clinic_crm.forms import DateField, DateInput

from .models import ConsentChannel, ConsentKind, Patient
from .validators import COMMON_TIME_ZONES, normalize_phone


class PatientNumberField(forms.ModelChoiceField):
    """Another patient chosen by card number (a select of a million rows is no choice).

    Forms narrow the queryset to the cards the user may see (``limit_to``): a number of
    another branch's card is "no such card", exactly like a number that does not exist.
    """

    widget = forms.NumberInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("There is no patient card with this number.")},
        )
        super().__init__(queryset=Patient.objects.filter(merged_into__isnull=True), **kwargs)
        self.widget.attrs.update({"min": 1, "class": "form-control"})

    def limit_to(self, patients) -> None:
        if patients is not None:
            self.queryset = self.queryset.filter(pk__in=patients.values("pk"))

    def to_python(self, value):
        # A number too large for the column is simply no such card.
        if value not in self.empty_values and str(value).strip().isdigit():
            if int(str(value).strip()) > 2**63 - 1:
                raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class BootstrapErrorsMixin:
    """Marks a field's widget ``is-invalid`` when it gets an error, also one added by the
    view from a service's PatientError."""

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self._errors or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                css = widget.attrs.get("class", "")
                if "is-invalid" not in css:
                    widget.attrs["class"] = f"{css} is-invalid".strip()


def _bootstrap(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = css


class PatientForm(BootstrapErrorsMixin, forms.ModelForm):
    """The card's fields; the services make the change (views call patient_create or
    patient_update with ``cleaned_data``)."""

    referred_by = PatientNumberField(
        label=_("Referred by (card number)"),
        help_text=_("The number of the card of the patient who recommended the clinic."),
    )

    class Meta:
        field_classes = {"birth_date": DateField}
        model = Patient
        fields = [
            "last_name",
            "first_name",
            "middle_name",
            "birth_date",
            "phone",
            "email",
            "preferred_channel",
            "preferred_language",
            "time_zone",
            "telegram_chat_id",
            "source",
            "referred_by",
            "home_branch",
            "is_archived",
            "is_deceased",
        ]
        widgets = {
            "birth_date": DateInput(),
            "phone": forms.TextInput(
                attrs={"type": "tel", "autocomplete": "off", "placeholder": "+7 912 345-67-89"}
            ),
            "time_zone": forms.TextInput(attrs={"list": "time-zones"}),
        }
        help_texts = {"phone": _("Any usual form: 8 912 345-67-89, +7 912 3456789.")}

    def __init__(self, *args, include_status: bool = True, patients=None, scope=None, **kwargs):
        super().__init__(*args, **kwargs)
        branches = Branch.objects.order_by("name")
        if scope is not None and not scope.all_branches:
            # A card is registered at a branch one works for; elsewhere it would vanish
            # from the one who registered it.
            # (A card of another branch that one edits as its carer keeps its branch.)
            allowed = set(scope.branch_ids) | {self.instance.home_branch_id} - {None}
            branches = branches.filter(pk__in=sorted(allowed))
            if self.instance.pk is None and len(scope.branch_ids) == 1:
                self.initial.setdefault("home_branch", next(iter(scope.branch_ids)))
        self.fields["home_branch"].queryset = branches
        self.fields["referred_by"].limit_to(patients)
        if not include_status:
            del self.fields["is_archived"]
            del self.fields["is_deceased"]
        if self.instance.pk is not None:
            self.fields["referred_by"].queryset = self.fields["referred_by"].queryset.exclude(
                pk=self.instance.pk
            )
        _bootstrap(self)

    time_zones = COMMON_TIME_ZONES

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data.get("phone", ""))

    def clean_email(self) -> str:
        return (self.cleaned_data.get("email") or "").strip().lower()


class ConsentForm(BootstrapErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Consent"), choices=ConsentKind.choices)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=ConsentChannel.choices, initial=ConsentChannel.ANY
    )
    granted = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("1", _("Granted")), ("0", _("Revoked"))],
        coerce=lambda value: value == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    text_version = forms.CharField(
        label=_("Text version"),
        max_length=64,
        required=False,
        help_text=_("Version of the signed consent text, e.g. 2026-01."),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)
        self.fields["granted"].widget.attrs["class"] = "form-check-input"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("granted") and not (cleaned.get("text_version") or "").strip():
            self.add_error(
                "text_version",
                ValidationError(_("Name the version of the consent text the patient agreed to.")),
            )
        return cleaned


class FamilyLinkForm(BootstrapErrorsMixin, forms.Form):
    relative = PatientNumberField(label=_("Family member (card number)"), required=True)

    def __init__(self, *args, patients=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["relative"].limit_to(patients)


class MergeForm(BootstrapErrorsMixin, forms.Form):
    target = PatientNumberField(label=_("Keep card number"), required=True)
    confirm = forms.BooleanField(
        label=_("I have checked that both cards are the same person."),
        required=True,
        error_messages={"required": _("Confirm that both cards are the same person.")},
    )

    def __init__(self, *args, source: Patient, patients=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].limit_to(patients)
        self.fields["target"].queryset = self.fields["target"].queryset.exclude(pk=source.pk)
        self.fields["target"].error_messages["invalid_choice"] = _(
            "Choose another live card: not this one, and not a card merged already."
        )
        _bootstrap(self)
