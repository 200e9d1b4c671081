from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic_crm import limits
from clinic_crm.catalogue.models import Branch, Service, Specialty
from clinic_crm.forms import DateField, DateTimeField, FilterForm, TextField
from clinic_crm.staff.models import User
from clinic_crm.staff.roles import Role

from .models import Stage, Task, TreatmentPlan
from .selectors_worklist import WorklistFilter
from .services.visit_completion import BookNextVisit, FinishCare, HandOff


def staff_with_role(role: str):
    return User.objects.filter(groups__name=role, is_active=True).order_by(
        "last_name", "first_name"
    )


class BootstrapMixin:
    def _style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault("class", css)


class PlanCreateForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = TreatmentPlan
        fields = ["title", "branch", "lead_doctor", "curator", "observation_months"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_doctor"].queryset = staff_with_role(Role.DOCTOR)
        self.fields["curator"].queryset = staff_with_role(Role.CURATOR)
        self.fields["branch"].queryset = Branch.objects.all()
        self._style()


class OptionForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("Option"), max_length=200)
    cost_estimate = forms.DecimalField(
        label=_("Cost estimate"), min_value=0, decimal_places=2, max_digits=12
    )
    duration_weeks = forms.IntegerField(label=_("Duration, weeks"), min_value=1, max_value=520)
    expected_result = TextField(
        label=_("Expected result, in plain words"),
        max_length=limits.PURPOSE,
        rows=2,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class StageForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("Stage"), max_length=200)
    purpose = TextField(
        label=_("Why the patient comes that day"),
        max_length=limits.PURPOSE,
        rows=2,
        required=False,
    )
    specialty = forms.ModelChoiceField(label=_("Specialty"), queryset=Specialty.objects.all())
    service = forms.ModelChoiceField(
        label=_("Service"), required=False, queryset=Service.objects.filter(is_active=True)
    )
    offset_days = forms.IntegerField(
        label=_("Days after start"), min_value=0, max_value=3650, initial=0
    )
    window_days = forms.IntegerField(
        label=_("Window, days"), min_value=1, max_value=365, initial=14
    )
    significant = forms.BooleanField(label=_("Significant (survey after it)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        service, specialty = data.get("service"), data.get("specialty")
        if service and specialty and service.specialty_id != specialty.pk:
            raise forms.ValidationError(_("The service belongs to another specialty."))
        return data


StageFormSet = forms.formset_factory(StageForm, extra=3, min_num=1, validate_min=True)


class ReasonForm(BootstrapMixin, forms.Form):
    reason = TextField(label=_("Reason"), max_length=limits.REASON, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class NoteForm(BootstrapMixin, forms.Form):
    text = TextField(label=_("Note"), max_length=limits.NOTE, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ChangeDoctorForm(BootstrapMixin, forms.Form):
    doctor = forms.ModelChoiceField(label=_("New lead doctor"), queryset=User.objects.none())
    handover_note = TextField(
        label=_("Handover note"),
        max_length=limits.NOTE,
        rows=3,
        help_text=_("What was decided, what is pending, what to watch."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = staff_with_role(Role.DOCTOR)
        self._style()


class VisitCompleteForm(BootstrapMixin, forms.Form):
    """Completing a visit: the price and the next step, all in one form."""

    NEXT_BOOK, NEXT_HANDOFF, NEXT_FINISH = "book", "handoff", "finish"
    next_step = forms.ChoiceField(
        label=_("Next step"),
        widget=forms.RadioSelect,
        choices=[
            (NEXT_BOOK, _("Book the next visit now")),
            (NEXT_HANDOFF, _("Hand off to a specialist")),
            (NEXT_FINISH, _("Finish treatment: observation and check-up")),
        ],
        error_messages={"required": _("Choose the next step for the patient.")},
    )
    price_charged = forms.DecimalField(
        label=_("Price charged"), min_value=0, decimal_places=2, max_digits=10
    )
    # book
    next_doctor = forms.ModelChoiceField(
        label=_("Doctor"), queryset=User.objects.none(), required=False
    )
    next_service = forms.ModelChoiceField(
        label=_("Service"), required=False, queryset=Service.objects.filter(is_active=True)
    )
    next_starts_at = DateTimeField(label=_("Date and time"), required=False)
    next_stage = forms.ModelChoiceField(
        label=_("Stage"), required=False, queryset=Stage.objects.none()
    )
    # handoff
    to_specialty = forms.ModelChoiceField(
        label=_("Specialty"), required=False, queryset=Specialty.objects.all()
    )
    to_doctor = forms.ModelChoiceField(
        label=_("Specialist (optional)"), required=False, queryset=User.objects.none()
    )
    handoff_reason = TextField(label=_("Reason"), max_length=limits.REASON, rows=2, required=False)
    handoff_due = DateField(label=_("Book by"), required=False)
    # finish
    observation_months = forms.IntegerField(
        label=_("Check-up in, months"), required=False, min_value=0, max_value=120, initial=6
    )
    finish_note = TextField(label=_("Note"), max_length=limits.NOTE, rows=2, required=False)

    def __init__(self, *args, visit=None, stages=None, **kwargs):
        super().__init__(*args, **kwargs)
        doctors = staff_with_role(Role.DOCTOR)
        self.fields["next_doctor"].queryset = doctors
        self.fields["to_doctor"].queryset = doctors
        if stages is not None:
            self.fields["next_stage"].queryset = stages
        if visit is not None and not self.is_bound:
            self.initial.setdefault("price_charged", visit.service.price)
            self.initial.setdefault("next_doctor", visit.doctor_id)
            self.initial.setdefault("next_service", visit.service_id)
            self.initial.setdefault("handoff_due", timezone.localdate() + timedelta(days=14))
        self._style()

    REQUIRED = {
        NEXT_BOOK: ("next_doctor", "next_service", "next_starts_at"),
        NEXT_HANDOFF: ("to_specialty", "handoff_reason", "handoff_due"),
        NEXT_FINISH: ("observation_months",),
    }

    def clean(self):
        data = super().clean()
        for name in self.REQUIRED.get(data.get("next_step"), ()):
            if data.get(name) in (None, ""):
                self.add_error(name, _("Needed for this next step."))
        return data

    def next_step_value(self):
        """The cleaned data as the service's next-step object."""
        data = self.cleaned_data
        step = data["next_step"]
        if step == self.NEXT_BOOK:
            return BookNextVisit(
                doctor=data["next_doctor"],
                service=data["next_service"],
                starts_at=data["next_starts_at"],
                stage=data.get("next_stage"),
            )
        if step == self.NEXT_HANDOFF:
            return HandOff(
                to_specialty=data["to_specialty"],
                to_doctor=data.get("to_doctor"),
                reason=data["handoff_reason"],
                due_date=data["handoff_due"],
            )
        return FinishCare(
            observation_months=data["observation_months"], note=data.get("finish_note") or ""
        )


class WorklistFilterForm(FilterForm):
    """The worklist's filters; unknown values are ignored (the default list shows)."""

    who = forms.ChoiceField(label=_("Whose"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    due = forms.ChoiceField(
        label=_("Due"),
        required=False,
        choices=[
            ("", _("Any time")),
            ("overdue", _("Overdue")),
            ("today", _("By tonight")),
            ("week", _("This week")),
        ],
    )
    branch = forms.ChoiceField(label=_("Branch"), required=False)
    sort = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[("due", _("Soonest due")), ("risk", _("Highest risk"))],
    )

    def __init__(self, *args, branches, colleagues, default_who: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_who = default_who
        self.fields["who"].choices = [
            ("mine_and_unassigned", _("Mine and unassigned")),
            ("mine", _("Only mine")),
            ("unassigned", _("Unassigned")),
            ("all", _("Everyone's")),
            *((f"u{user.pk}", str(user)) for user in colleagues),
        ]
        self.fields["kind"].choices = [("", _("All kinds")), *Task.Kind.choices]
        self.fields["branch"].choices = [("", _("All my branches"))] + [
            (str(b.pk), b.name) for b in branches
        ]
        if len(branches) < 2:
            del self.fields["branch"]

    def filters(self):
        data = {
            name: (self.data.get(name) or "") for name in ("who", "kind", "due", "branch", "sort")
        }
        for name, value in list(data.items()):
            field = self.fields.get(name)
            if field is None or value not in {str(key) for key, _label in field.choices}:
                data[name] = ""
        who = data["who"] or self.default_who
        colleague = who[1:] if who[:1] == "u" and who[1:].isdigit() else None
        return WorklistFilter(
            kind=data["kind"],
            due=data["due"],
            branch_id=int(data["branch"]) if data["branch"] else None,
            who="" if colleague else who,
            colleague_id=int(colleague) if colleague else None,
            sort=data["sort"] or "due",
        )
