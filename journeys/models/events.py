"""The journey's append-only timeline of facts."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from journeys import texts


class JourneyEvent(models.Model):
    """Append-only chronology of a patient's journey; the timeline is built from it."""

    class Kind(models.TextChoices):
        PLAN_CREATED = "plan_created", _("Plan drafted")
        PLAN_PROPOSED = "plan_proposed", _("Plan proposed")
        OPTION_CHOSEN = "option_chosen", _("Option chosen")
        PLAN_STARTED = "plan_started", _("Treatment started")
        PLAN_COMPLETED = "plan_completed", _("Plan completed")
        PLAN_ABANDONED = "plan_abandoned", _("Plan abandoned")
        STAGE_STARTED = "stage_started", _("Stage started")
        STAGE_DONE = "stage_done", _("Stage done")
        CHECK_UP_PLANNED = "check_up_planned", _("Check-up planned")
        DOCTOR_CHANGED = "doctor_changed", _("Lead doctor changed")
        HANDOFF_CREATED = "handoff_created", _("Handoff")
        HANDOFF_UPDATED = "handoff_updated", _("Handoff updated")
        VISIT_BOOKED = "visit_booked", _("Visit booked")
        VISIT_MOVED = "visit_moved", _("Visit moved")
        VISIT_STATUS = "visit_status", _("Visit status changed")
        NOTE = "note", _("Note")
        FEEDBACK = "feedback", _("Feedback")
        TASK = "task", _("Task")

    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="journey_events",
        verbose_name=_("patient"),
    )
    plan = models.ForeignKey(
        "TreatmentPlan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("plan"),
    )
    visit = models.ForeignKey(
        "Visit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("visit"),
    )
    stage = models.ForeignKey(
        "Stage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("stage"),
    )
    handoff = models.ForeignKey(
        "Handoff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("handoff"),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    summary = models.TextField(_("summary"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("journey event")
        verbose_name_plural = _("journey events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient", "-at"], name="event_patient_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d}"

    @property
    def display_summary(self) -> str:
        """What happened, in the reader's (active) language, from ``kind`` and ``data``;
        the stored ``summary`` for rows whose data does not say enough."""
        return texts.event_text(self)
