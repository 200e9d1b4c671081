from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import Signal, receiver

from clinic_crm.audit.models import AuditAction
from clinic_crm.audit.services import audit_record

from .middleware import session_login_time_store

# Sent inside the transaction that deactivates a staff member, with ``user`` and
# ``actor``: apps above the core take back the work they gave the member (the journeys
# unassign their open tasks). A receiver returns how many things it released.
staff_deactivated = Signal()


@receiver(user_logged_in, dispatch_uid="audit_login_success")
def audit_login_success(sender, request, user, **kwargs):
    audit_record(
        action=AuditAction.LOGIN_SUCCESS,
        request=request,
        actor=user,
        details={"step": "password"},
    )


@receiver(user_logged_in, dispatch_uid="session_login_time")
def session_login_time(sender, request, user, **kwargs):
    # The absolute session lifetime counts from the password login.
    if request is not None and hasattr(request, "session"):
        session_login_time_store(request)


@receiver(user_login_failed, dispatch_uid="audit_login_failure")
def audit_login_failure(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in ``credentials``.
    audit_record(
        action=AuditAction.LOGIN_FAILURE,
        request=request,
        actor_email=str(credentials.get("username", ""))[:254],
    )


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def audit_lockout(sender, request, username=None, ip_address=None, **kwargs):
    audit_record(action=AuditAction.LOCKOUT, request=request, actor_email=username or "")
