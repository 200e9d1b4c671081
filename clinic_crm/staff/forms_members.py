"""Forms of the Staff pages: a member's details, the list's filters, setting a password.

They parse what the manager typed; the rules (a doctor has a specialty, nobody changes
their own role…) are the services' (``services_members``), whose errors the views put
on the field they name."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from clinic_crm.forms import FilterForm

from .models import StaffProfile
from .roles import Role
from .services_members import NAME_MAX_LENGTH, Workplace

# The catalogue belongs to the journeys' models; the profile's foreign keys name them,
# so this layer needs no import of the app above it.
Branch = StaffProfile._meta.get_field("branch").related_model
Specialty = StaffProfile._meta.get_field("specialty").related_model


def _role_choices():
    return [("", "—"), *Role.choices]


class StaffMemberForm(forms.Form):
    """Adding a member (with email) or changing one (``with_email=False``)."""

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("The invitation with a link to set a password goes to this address."),
    )
    last_name = forms.CharField(label=_("Last name"), max_length=NAME_MAX_LENGTH, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=NAME_MAX_LENGTH, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=_role_choices)
    branch = forms.ModelChoiceField(
        label=_("Branch"),
        queryset=Branch.objects.order_by("name"),
        required=False,
        empty_label="—",
        help_text=_("Where they work. Managers may have none."),
    )
    specialty = forms.ModelChoiceField(
        label=_("Specialty"),
        queryset=Specialty.objects.order_by("name"),
        required=False,
        empty_label="—",
        help_text=_("For doctors only."),
    )
    all_branches = forms.BooleanField(
        label=_("Works for every branch"),
        required=False,
        help_text=_("For administrators of a call centre: book patients of every branch."),
    )

    def __init__(self, *args, with_email: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_email:
            del self.fields["email"]
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select"
            else:
                field.widget.attrs["class"] = "form-control"
        if "email" in self.fields:
            self.fields["email"].widget.attrs.update({"autocomplete": "off", "autofocus": True})
        self.fields["role"].widget.attrs["data-staff-role"] = ""

    def workplace(self) -> Workplace:
        data = self.cleaned_data
        return Workplace(
            role=data["role"],
            branch=data["branch"],
            specialty=data["specialty"],
            all_branches=data["all_branches"],
        )

    @classmethod
    def initial_for(cls, user) -> dict:
        profile = getattr(user, "profile", None)
        return {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": user.role or "",
            "branch": profile.branch_id if profile else None,
            "specialty": profile.specialty_id if profile else None,
            "all_branches": profile.all_branches if profile else False,
        }


class StaffFilterForm(FilterForm):
    STATUS_ACTIVE, STATUS_INACTIVE, STATUS_INVITED = "active", "inactive", "invited"

    q = forms.CharField(label=_("Name or email"), required=False, max_length=100)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=_role_choices)
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.order_by("name"), required=False
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("All")),
            (STATUS_ACTIVE, _("Active members")),
            (STATUS_INVITED, _("Invitation not accepted")),
            (STATUS_INACTIVE, _("Deactivated members")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].empty_label = _("All")
        self.fields["role"].choices = [("", _("All")), *Role.choices]


class InvitationPasswordForm(SetPasswordForm):
    """The new member's password, typed twice; Django's validators say what is wrong."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"
