"""Handoffs between doctors: a referral that can't be forgotten until it is booked."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic_crm.audit.tracking import AuditedQuerySet
from clinic_crm.catalogue.models import Branch, Specialty


class Handoff(models.Model):
    """A patient sent on to a specialist. The curator owns it until it is booked."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        BOOKED = "booked", _("Booked")
        COMPLETED = "completed", _("Completed")
        LOST = "lost", _("Lost")

    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="handoffs",
        verbose_name=_("patient"),
    )
    plan = models.ForeignKey(
        "TreatmentPlan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handoffs",
        verbose_name=_("plan"),
    )
    # Where the patient is to be booked: the plan's branch, else the referring visit's,
    # else the patient's home branch (set by handoff_create).
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handoffs",
        verbose_name=_("branch"),
    )
    from_visit = models.ForeignKey(
        "Visit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handoffs_made",
        verbose_name=_("from visit"),
    )
    from_doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="handoffs_made",
        verbose_name=_("from doctor"),
    )
    to_specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="handoffs", verbose_name=_("to specialty")
    )
    to_doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handoffs_received",
        verbose_name=_("to doctor"),
    )
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handoffs_owned",
        verbose_name=_("curator"),
    )
    reason = models.TextField(_("reason"))
    due_date = models.DateField(_("book by"))
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    # Its state changes are audited, by update() too (journeys.audit).
    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("handoff")
        verbose_name_plural = _("handoffs")
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["state", "due_date"], name="handoff_state_due"),
            models.Index(
                fields=["branch", "due_date"],
                name="handoff_open_branch_due",
                condition=models.Q(state="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} → {self.to_specialty}"
