from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong email or password."),
        "inactive": _("This account is disabled. Ask a manager."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "class": "form-control", "autofocus": True}
        )
        self.fields["password"].label = _("Password")
        self.fields["password"].widget.attrs.update({"class": "form-control"})

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "class": "form-control form-control-lg text-center font-monospace",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
        error_messages={
            "required": _("Enter the code."),
            "min_length": _("The code has at least 6 characters."),
        },
    )
