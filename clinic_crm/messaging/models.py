"""The outbox: one Message row per outbound patient message, and what shapes them.

Domain services write Message rows in the same transaction as the change that causes
them; the dispatcher (``services.messages_dispatch``) claims due rows with
``SELECT … FOR UPDATE SKIP LOCKED`` and hands them to a channel backend. Nothing about a
patient message lives only in Redis.
"""

from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from patients.models import Channel, ConsentKind, Language

from .caching import shortly_cached


class MessageKind(models.TextChoices):
    REMINDER = "reminder", _("Visit reminder")
    FOLLOW_UP = "follow_up", _("“How do you feel?”")
    SURVEY = "survey", _("Survey invitation")
    RECALL = "recall", _("Check-up recall")
    REACTIVATION = "reactivation", _("Reactivation")
    BIRTHDAY = "birthday", _("Birthday greeting")
    HOLIDAY = "holiday", _("Holiday greeting")
    EDUCATION = "education", _("Stage materials")
    NEW_DOCTOR = "new_doctor", _("“Meet your new doctor”")
    WE_DID = "we_did", _("“You said, we did”")


# Messages about care the patient has booked or is in; the rest are "non-transactional":
# they count against the weekly cap and carry a one-click opt-out link.
TRANSACTIONAL_KINDS = frozenset(
    {MessageKind.REMINDER, MessageKind.FOLLOW_UP, MessageKind.NEW_DOCTOR}
)
# Which consent a kind needs: care messages need the reminders consent, the rest marketing.
MARKETING_KINDS = frozenset({MessageKind.REACTIVATION, MessageKind.BIRTHDAY, MessageKind.HOLIDAY})


# How a kind reads to the patient (the opt-out page), not in the clinic's own words.
PATIENT_KIND_LABELS = {
    MessageKind.RECALL: _("invitations to check-ups"),
    MessageKind.REACTIVATION: _("invitations to come back after a long break"),
    MessageKind.BIRTHDAY: _("birthday greetings"),
    MessageKind.HOLIDAY: _("holiday greetings"),
    MessageKind.EDUCATION: _("materials about your treatment"),
    MessageKind.SURVEY: _("short surveys about your visits"),
    MessageKind.WE_DID: _("news about what the clinic changed after your feedback"),
}


def consent_kind_for(kind: str) -> str:
    return ConsentKind.MARKETING if kind in MARKETING_KINDS else ConsentKind.REMINDERS


class MessageChannel(models.TextChoices):
    SMS = Channel.SMS.value, Channel.SMS.label
    EMAIL = Channel.EMAIL.value, Channel.EMAIL.label
    TELEGRAM = Channel.TELEGRAM.value, Channel.TELEGRAM.label


class SuppressReason(models.TextChoices):
    NO_CONSENT = "no_consent", _("No consent for this kind of message on any channel")
    NO_CONTACT = "no_contact", _("No phone, email or Telegram to reach the patient")
    OPTED_OUT = "opted_out", _("The patient opted out of this kind of message")
    WEEKLY_CAP = "weekly_cap", _("Weekly limit of non-urgent messages reached")
    TOO_LATE = "too_late", _("Too late: the visit is about to start or has started")
    QUIET_HOURS_TOO_LATE = "quiet_hours", _("Quiet hours would delay it past the visit")
    PATIENT_INACTIVE = "patient_inactive", _("Patient archived, deceased or merged")
    VISIT_CANCELLED = "visit_cancelled", _("The visit was cancelled")
    VISIT_MOVED = "visit_moved", _("The visit was moved; new reminders were planned")
    VISIT_OVER = "visit_over", _("The visit already took place")
    RULE_OFF = "rule_off", _("This rule is switched off")
    STAFF = "staff", _("Stopped by staff")
    # The feedback layer's reasons for survey invitations.
    SURVEY_RECENT = "survey_recent", _("The patient was asked for feedback within the last days")
    RECOVERY_OPEN = "recovery_open", _("A recovery call with the patient is still open")
    SURVEY_REPLACED = "survey_replaced", _("Replaced by the survey after a significant stage")
    ANSWERED = "answered", _("The patient has already answered")
    STALE = "stale", _("Too old to be meaningful any more")


class WaitReason(models.TextChoices):
    """Why a pending message was put back to wait by the dispatcher (not a retry)."""

    QUIET_HOURS = "quiet_hours", _("the patient's quiet hours")
    WEEKLY_CAP = "weekly_cap", _("the weekly limit of non-urgent messages")


# Failures the dispatcher stores in English (``last_error``) and pages show in the
# reader's language; anything else there is the provider's own words.
UNKNOWN_DELIVERY = gettext_noop(
    "Delivery unknown: an earlier attempt may have reached the patient and this channel "
    "can't tell a repeat from a new message. Check with the patient before retrying."
)
UNKNOWN_AFTER_ASKING = gettext_noop(
    "Delivery unknown: an earlier attempt may have reached the patient and the provider "
    "could not be asked ({reason}). Check with the patient before retrying."
)


def error_text(stored: str) -> str:
    """A stored failure text in the active language."""
    if stored == UNKNOWN_DELIVERY:
        return gettext(UNKNOWN_DELIVERY)
    head, _marker, tail = UNKNOWN_AFTER_ASKING.partition("{reason}")
    if stored.startswith(head) and stored.endswith(tail) and len(stored) > len(head + tail):
        reason = stored[len(head) : len(stored) - len(tail)]
        return gettext(UNKNOWN_AFTER_ASKING).format(reason=reason)
    return stored


class Message(models.Model):
    """One outbound message. Its status is a state machine the dispatcher owns:
    pending → sending → sent | failed, or → suppressed (with a reason) at any point
    before sending."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")

    class Delivery(models.TextChoices):
        UNKNOWN = "", _("Not reported")
        DELIVERED = "delivered", _("Delivered")
        UNDELIVERED = "undelivered", _("Not delivered")

    # Indexed by message_patient (patient, -scheduled_for): no index of its own.
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="messages",
        verbose_name=_("patient"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=MessageChannel.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    scheduled_for = models.DateTimeField(_("scheduled for"))
    # When the dispatcher may take it next: scheduled_for, later after a transient failure
    # (backoff), while the patient's quiet hours last or until the weekly cap allows it.
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    suppressed_reason = models.CharField(
        _("suppressed because"), max_length=20, choices=SuppressReason.choices, blank=True
    )
    # Set while the dispatcher has put it back to wait (quiet hours, the weekly cap);
    # cleared with any other outcome.
    waiting_reason = models.CharField(
        _("waiting because"), max_length=20, choices=WaitReason.choices, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)
    # The claim of the dispatcher that is sending it, and until when that claim holds.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Set just before a provider call, cleared once its outcome is known not to be "maybe
    # sent": a value left behind means an attempt whose fate is unknown (worker killed,
    # answer timed out), which only a provider's idempotency window makes safe to repeat.
    attempt_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivery = models.CharField(
        _("delivery"), max_length=16, choices=Delivery.choices, blank=True, default=""
    )
    # Template variables that no row holds (a holiday's name), kept for re-rendering.
    context = models.JSONField(_("extra template data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-scheduled_for", "-id"]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="message_pending_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["lease_until"],
                name="message_sending_lease",
                condition=models.Q(status="sending"),
            ),
            models.Index(fields=["patient", "-scheduled_for"], name="message_patient"),
            models.Index(fields=["status", "-scheduled_for"], name="message_status"),
            models.Index(fields=["-scheduled_for"], name="message_scheduled"),
            models.Index(
                fields=["closed_at"],
                name="message_closed",
                condition=models.Q(closed_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="suppressed") | ~models.Q(suppressed_reason=""),
                name="message_suppressed_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sending")
                | models.Q(claim__isnull=False, lease_until__isnull=False),
                name="message_sending_is_claimed",
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key

    @property
    def transactional(self) -> bool:
        return self.kind in TRANSACTIONAL_KINDS

    @property
    def last_error_text(self) -> str:
        return error_text(self.last_error)


class MessagingSettings(models.Model):
    """The clinic's messaging rules: one row, edited by managers in the admin."""

    reminder_24h = models.BooleanField(_("reminder 24 hours before a visit"), default=True)
    reminder_2h = models.BooleanField(_("reminder 2 hours before a visit"), default=False)
    reminder_min_lead_minutes = models.PositiveSmallIntegerField(
        _("latest useful reminder, minutes before the visit"),
        default=60,
        help_text=_("A reminder that can't go out earlier than this is suppressed."),
    )
    quiet_hours_start = models.TimeField(_("quiet hours start"), default=time(21, 0))
    quiet_hours_end = models.TimeField(_("quiet hours end"), default=time(9, 0))
    weekly_cap = models.PositiveSmallIntegerField(
        _("non-urgent messages per patient per week"), default=2
    )
    send_at = models.TimeField(
        _("non-urgent messages go out at"),
        default=time(11, 0),
        help_text=_("In the patient's time zone: check-up invitations, greetings, materials."),
    )
    follow_up = models.BooleanField(
        _("ask “how do you feel?” the day after a visit"),
        default=True,
        help_text=_("Only after services marked for it."),
    )
    recall = models.BooleanField(_("invite to check-ups when due"), default=True)
    reactivation = models.BooleanField(_("invite patients back after a long break"), default=True)
    reactivation_months = models.PositiveSmallIntegerField(
        _("a patient is dormant after, months"), default=12
    )
    birthday = models.BooleanField(_("birthday greetings"), default=True)
    holiday = models.BooleanField(_("holiday greetings"), default=False)
    education = models.BooleanField(_("send stage materials"), default=True)
    new_doctor = models.BooleanField(_("introduce a new doctor"), default=True)
    max_attempts = models.PositiveSmallIntegerField(_("attempts before a message fails"), default=6)
    retry_base_seconds = models.PositiveIntegerField(
        _("first retry after, seconds"),
        default=60,
        help_text=_("Each further retry waits twice as long, up to six hours."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("messaging settings")
        verbose_name_plural = _("messaging settings")

    def __str__(self) -> str:
        return str(_("Messaging settings"))

    def clean(self) -> None:
        if self.quiet_hours_start == self.quiet_hours_end:
            raise ValidationError(
                _("Quiet hours start and end at the same time; leave a gap or switch them off.")
            )
        if not 1 <= self.max_attempts <= 20:
            raise ValidationError({"max_attempts": _("Between 1 and 20 attempts.")})

    @classmethod
    def current(cls) -> "MessagingSettings":
        """The clinic's settings; read at most every few seconds per process (a change
        saved anywhere applies within that time, at once in the saving process)."""
        return shortly_cached("settings", lambda: cls.objects.get_or_create(pk=1)[0])


class MessageOptOut(models.Model):
    """A patient's one-click "no more of these" for one kind of non-urgent message."""

    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.CASCADE,
        related_name="message_opt_outs",
        verbose_name=_("patient"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    created_at = models.DateTimeField(_("opted out at"), auto_now_add=True)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind"], name="optout_once_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.kind}"


class MessageTemplate(models.Model):
    """A manager's wording for one kind of message in one language, optionally for one
    channel (SMS wants it short). Without a row the built-in wording is used
    (``rendering.DEFAULT_TEMPLATES``)."""

    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    channel = models.CharField(
        _("channel"),
        max_length=16,
        choices=MessageChannel.choices,
        blank=True,
        help_text=_("Empty: every channel without a wording of its own."),
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "language", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "channel"], name="template_once_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.language} / {self.channel or '*'}"

    def clean(self) -> None:
        from .rendering import template_check

        template_check(subject=self.subject, body=self.body)


class Holiday(models.Model):
    """A day on which patients who agreed to marketing messages get a greeting."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("holiday"), max_length=200)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.name}"
