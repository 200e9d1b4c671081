"""Which backend sends each channel, from settings (MESSAGING_<CHANNEL>_BACKEND)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import ChannelBackend

_NAMES = {
    "console": "clinic_crm.messaging.backends.local.ConsoleBackend",
    "file": "clinic_crm.messaging.backends.local.FileBackend",
    "smtp": "clinic_crm.messaging.backends.email.EmailBackend",
    "smsc": "clinic_crm.messaging.backends.smsc.SmscBackend",
    "telegram": "clinic_crm.messaging.backends.telegram.TelegramBackend",
}


def _options(name: str) -> dict:
    timeout = settings.MESSAGING_HTTP_TIMEOUT
    if name == "smsc":
        return {
            "api_url": settings.SMSC_API_URL,
            "login": settings.SMSC_LOGIN,
            "password": settings.SMSC_PASSWORD,
            "sender": settings.SMSC_SENDER,
            "status_url": settings.SMSC_STATUS_URL,
            "duplicate_window": settings.SMSC_DUPLICATE_WINDOW_SECONDS,
            "timeout": timeout,
        }
    if name == "telegram":
        return {
            "api_url": settings.TELEGRAM_API_URL,
            "token": settings.TELEGRAM_BOT_TOKEN,
            "timeout": timeout,
        }
    if name == "file":
        return {"directory": settings.MESSAGING_FILE_DIR}
    return {}


OFF = "off"


def backend_name(channel: str) -> str:
    return getattr(settings, f"MESSAGING_{channel.upper()}_BACKEND")


def channel_enabled(channel: str) -> bool:
    return backend_name(channel) != OFF


def backend_for(channel: str) -> ChannelBackend:
    """A new backend for the channel, configured from settings."""
    from django.utils.module_loading import import_string

    name = backend_name(channel)
    if name not in _NAMES:
        raise ImproperlyConfigured(
            f"MESSAGING_{channel.upper()}_BACKEND={name!r}: use one of {', '.join([*_NAMES, OFF])}"
        )
    return import_string(_NAMES[name])(channel=channel, options=_options(name))
