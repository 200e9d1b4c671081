"""``manage.py check`` warns when the dispatcher's lease does not fit the providers. It is
renewed every third of itself, between groups of calls, and a group may wait for one
call as long as the HTTP timeout: so the lease must be at least 1.5 times that timeout
(or a live dispatcher's claim could run out mid-call and be taken over). And it should
end well inside SMSC's duplicate window (or every message of a killed worker is settled
by status look-ups instead of a repeat SMSC refuses)."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def check_send_lease(app_configs=None, **kwargs):
    lease = settings.MESSAGING_SEND_LEASE_SECONDS
    warnings = []
    if lease < 1.5 * settings.MESSAGING_HTTP_TIMEOUT:
        warnings.append(
            Warning(
                f"MESSAGING_SEND_LEASE_SECONDS ({lease}) is less than 1.5 times "
                f"MESSAGING_HTTP_TIMEOUT ({settings.MESSAGING_HTTP_TIMEOUT}): a live "
                "dispatcher's claim can run out during one provider call.",
                hint="Keep the lease at 1.5 times the HTTP timeout or more (defaults: 20 "
                "and 10 s).",
                id="messaging.W001",
            )
        )
    window = settings.SMSC_DUPLICATE_WINDOW_SECONDS
    if settings.MESSAGING_SMS_BACKEND == "smsc" and lease >= window / 2:
        warnings.append(
            Warning(
                f"MESSAGING_SEND_LEASE_SECONDS ({lease}) is not well inside SMSC's duplicate "
                f"window ({window} s): a killed worker's messages are taken over after it "
                "and each needs a status look-up instead of a repeat SMSC refuses.",
                hint="Keep the lease under half the window (default 20 of 60 s).",
                id="messaging.W002",
            )
        )
    return warnings
