"""One date and time convention across the app: every date, date-time and time input of
every form is the browser's own picker, given and taking ISO values in both languages —
a Russian page never renders 16.12.2026 for the browser to refuse."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import date, datetime, time

import pytest
from django import forms
from django.utils import timezone, translation

from clinic_crm import forms as convention

PACKAGES = ["clinic_crm", "patients", "journeys", "feedback", "metrics"]


def _app_forms() -> list[type[forms.BaseForm]]:
    found = {}
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if "forms" not in module.name.rsplit(".", 1)[-1]:
                continue
            loaded = importlib.import_module(module.name)
            for _, cls in inspect.getmembers(loaded, inspect.isclass):
                if issubclass(cls, forms.BaseForm) and cls.__module__.startswith(tuple(PACKAGES)):
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[key] for key in sorted(found)]


def _temporal_fields():
    for form in _app_forms():
        for name, field in form.base_fields.items():
            if isinstance(field, (forms.DateField, forms.DateTimeField, forms.TimeField)):
                yield pytest.param(form, name, field, id=f"{form.__name__}.{name}")


FIELDS = list(_temporal_fields())


def test_the_sweep_finds_the_date_fields_it_is_about():
    names = {param.id for param in FIELDS}
    assert {"VisitCompleteForm.handoff_due", "PatientForm.birth_date"} <= names, names


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize(("form", "name", "field"), FIELDS)
def test_every_date_input_renders_and_takes_iso(language, form, name, field):
    with translation.override(language):
        if isinstance(field, forms.DateTimeField):
            assert isinstance(field, convention.DateTimeField), "use clinic_crm.forms"
            zone = timezone.get_current_timezone()
            value, text = datetime(2026, 12, 16, 9, 30, tzinfo=zone), "2026-12-16T09:30"
            assert field.widget.input_type == "datetime-local"
        elif isinstance(field, forms.DateField):
            assert isinstance(field, convention.DateField), "use clinic_crm.forms.DateField"
            value, text = date(2026, 12, 16), "2026-12-16"
            assert field.widget.input_type == "date"
        else:
            value, text = time(9, 30), "09:30"
            assert field.widget.input_type == "time"
        html = field.widget.render(name, value)
        assert f'value="{text}"' in html, html
        cleaned = field.clean(text)
        assert cleaned == value
        if isinstance(field, forms.DateField):
            # what a person may still type into a plain field in Russian is understood too
            assert field.clean("16.12.2026") == date(2026, 12, 16)
