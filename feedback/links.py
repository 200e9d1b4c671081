"""The survey's short link: ``/s/<key><signature>``, the same whatever the channel (SMS,
Telegram, email, the kiosk's code), short enough for an SMS.

The key is random (7 characters of 62, about 42 bits) and stored with the invitation; the
signature (5 characters, about 30 bits of an HMAC keyed by ``SECRET_KEY``) lets the page
refuse a forged or mistyped link without a database lookup, so guessing keys costs a
forger both. Expiry and single use are the invitation's (``expires_at``,
``finished_at``): the link itself carries no personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from django.conf import settings
from django.urls import reverse

from clinic_crm.messaging.rendering import absolute_url

ALPHABET = string.digits + string.ascii_letters
KEY_LENGTH = 7
SIGNATURE_LENGTH = 5
TOKEN_LENGTH = KEY_LENGTH + SIGNATURE_LENGTH
_SALT = b"feedback.survey-link"


def new_key() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH))


def _signature(key: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode() + _SALT, key.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(SIGNATURE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)


def survey_token(key: str) -> str:
    return key + _signature(key)


def survey_key(token: str) -> str | None:
    """The invitation key of a genuine token, else None (forged, mistyped, cut short)."""
    if len(token) != TOKEN_LENGTH or any(c not in ALPHABET for c in token):
        return None
    key, signature = token[:KEY_LENGTH], token[KEY_LENGTH:]
    if not hmac.compare_digest(signature, _signature(key)):
        return None
    return key


def survey_url(key: str) -> str:
    return absolute_url(reverse("feedback:survey", args=[survey_token(key)]))
