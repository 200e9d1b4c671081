"""Form pieces more than one app uses: the one date and time convention, text fields
with their limits, and filter styling."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Every date a person types or a link carries lies in this range; anything else (year 1
# or 9999, which overflow the day after or before) is refused or ignored, never a 500.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
# Dates travel as ISO (2026-12-16) whatever the page's language: the browser's date
# input sends ISO, and a Russian page must not turn it into 16.12.2026 and back.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"]


def has_control_characters(value: str, *, allowed: str = "\t\n\r") -> bool:
    """Whether ``value`` holds control characters a person never types (NUL, which
    PostgreSQL refuses in text, escape sequences…), other than those ``allowed``."""
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in value or "")


def refuse_control_characters(value: str) -> None:
    if has_control_characters(value):
        raise ValidationError(
            _("The text contains invisible control characters; remove them and send again."),
            code="control_characters",
        )


def sane_date(value) -> date | None:
    """A date from a query string, or None when it is not one or lies outside the range."""
    try:
        parsed = parse_date(str(value or "")[:10]) if len(str(value or "")) <= 10 else None
    except ValueError:  # well-formed but impossible, e.g. 2026-02-30
        return None
    if parsed is None or not EARLIEST_DATE <= parsed <= LATEST_DATE:
        return None
    return parsed


def _check_range(value: date | None) -> None:
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            _("Enter a date between %(first)s and %(last)s.")
            % {"first": EARLIEST_DATE.isoformat(), "last": LATEST_DATE.isoformat()},
            code="date_range",
        )


class DateInput(forms.DateInput):
    """The browser's date picker, given and sending ISO dates in every language."""

    input_type = "date"

    def __init__(self, attrs=None):
        attrs = {"min": EARLIEST_DATE.isoformat(), "max": LATEST_DATE.isoformat(), **(attrs or {})}
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class _SaneRange:
    """Dates in the app's one convention: ISO in and out (``input_formats``), nothing
    longer than a date can be, within the sane range."""

    input_formats_default: list[str] = []

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", self.input_formats_default)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and len(value) > 32:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)

    def validate(self, value):
        super().validate(value)
        _check_range(value.date() if isinstance(value, datetime) else value)


class DateField(_SaneRange, forms.DateField):
    widget = DateInput
    input_formats_default = DATE_INPUT_FORMATS


class DateTimeField(_SaneRange, forms.DateTimeField):
    widget = DateTimeInput
    input_formats_default = DATETIME_INPUT_FORMATS


def _limit_text(limit: int) -> str:
    return gettext("Up to %(limit)s characters.") % {"limit": f"{limit:,}".replace(",", " ")}


_limit_hint = lazy(_limit_text, str)


class TextField(forms.CharField):
    """Free text with a limit that the form shows (``maxlength`` and a hint) and the
    server enforces; control characters are refused with a message."""

    def __init__(self, *, max_length: int, rows: int | None = None, **kwargs):
        if rows is not None:
            kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows}))
        kwargs.setdefault("help_text", _limit_hint(max_length))
        super().__init__(max_length=max_length, **kwargs)
        self.validators.append(refuse_control_characters)


class FilterForm(forms.Form):
    """A list page's filters: small Bootstrap controls, selects styled as selects."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )


class FastSelect(forms.Select):
    """A select rendered in Python rather than one template per option: a filter listing
    hundreds of doctors stays cheap."""

    def render(self, name, value, attrs=None, renderer=None):
        from django.forms.utils import flatatt
        from django.utils.html import format_html, format_html_join

        final = self.build_attrs(self.attrs, attrs)
        chosen = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, " selected" if str(key) == chosen else "", label)
                for key, label in self.choices
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)
