"""Phone numbers are read the way people type them and stored in E.164."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from patients.validators import format_phone, normalize_phone, validate_time_zone


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+7 999 123-45-67", "+79991234567"),
        ("8 (999) 123-45-67", "+79991234567"),
        ("89991234567", "+79991234567"),
        ("9991234567", "+79991234567"),
        ("+7 (495) 123 45 67", "+74951234567"),
        ("+375 29 123-45-67", "+375291234567"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_phone_is_normalized_to_e164(typed, stored):
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "abc", "+7 999 123", "+7999123456789012", "8" * 40])
def test_not_a_phone_number_gets_a_clear_message(typed):
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        normalize_phone(typed)
    message = excinfo.value.messages[0]
    assert "is not a phone number" in message
    assert "+7 912 345-67-89" in message


def test_phone_message_is_translated_to_russian():
    with translation.override("ru"), pytest.raises(ValidationError) as excinfo:
        normalize_phone("12345")
    # Whatever the catalogue says, the typed value is quoted back to the user.
    assert "12345" in excinfo.value.messages[0]


def test_phone_is_shown_in_international_format():
    assert format_phone("+79991234567") == "+7 999 123-45-67"
    assert format_phone("") == ""


def test_time_zone_must_be_an_iana_name():
    validate_time_zone("Asia/Novosibirsk")
    for bad in ["", "Moscow", "Europe/Atlantis", "../etc/passwd"]:
        with pytest.raises(ValidationError):
            validate_time_zone(bad)
