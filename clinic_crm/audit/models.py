from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    READ = "read", _("Read")
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    LOGIN_SUCCESS = "login_success", _("Login succeeded")
    LOGIN_FAILURE = "login_failure", _("Login failed")
    LOCKOUT = "lockout", _("Locked out")
    OTP_SUCCESS = "otp_success", _("Second factor verified")
    OTP_FAILURE = "otp_failure", _("Second factor failed")
    OTP_ENROLLED = "otp_enrolled", _("Second factor enrolled")
    OTP_RESET = "otp_reset", _("Second factor reset")
    BACKUP_CODES_ISSUED = "backup_codes_issued", _("Backup codes issued")
    LOGOUT = "logout", _("Logout")


class AuditSource(models.TextChoices):
    """Where an event was written from."""

    REQUEST = "request", _("Request")
    TASK = "task", _("Background task")
    SYSTEM = "system", _("System")


class AuditEvent(models.Model):
    """Append-only record of who did what to which record, from where.

    The database refuses UPDATE, DELETE and TRUNCATE on this table (trigger in the
    migration), so neither the app, the admin nor a stray query can rewrite history.
    No patient data is stored here: only ids and the kind of object.
    """

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_email = models.CharField(
        _("user email"), max_length=254, blank=True, help_text=_("As typed, for failures.")
    )
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    patient_id = models.BigIntegerField(_("patient id"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    path = models.CharField(
        _("path"),
        max_length=300,
        blank=True,
        help_text=_("The request's path, or the name of the background task."),
    )
    # Empty on rows written before it was recorded.
    source = models.CharField(
        _("source"), max_length=16, choices=AuditSource.choices, blank=True, default=""
    )
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}:{self.object_id}"
