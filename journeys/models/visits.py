"""Visits: a patient with a doctor at a branch for a service, and their status."""

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import Func
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Branch, Service


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Visit(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CONFIRMED = "confirmed", _("Confirmed")
        ARRIVED = "arrived", _("Arrived")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED_BY_PATIENT = "cancelled_by_patient", _("Cancelled by patient")
        CANCELLED_BY_CLINIC = "cancelled_by_clinic", _("Cancelled by clinic")

    CANCELLED = (Status.CANCELLED_BY_PATIENT, Status.CANCELLED_BY_CLINIC)
    UPCOMING = (Status.SCHEDULED, Status.CONFIRMED)
    OPEN = (Status.SCHEDULED, Status.CONFIRMED, Status.ARRIVED, Status.IN_PROGRESS)
    ATTENDED = (Status.ARRIVED, Status.IN_PROGRESS, Status.COMPLETED)
    FINAL = (Status.COMPLETED, Status.NO_SHOW, *CANCELLED)

    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("patient"),
    )
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("doctor"),
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="visits", verbose_name=_("branch")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="visits", verbose_name=_("service")
    )
    stage = models.ForeignKey(
        "Stage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("stage"),
    )
    handoff = models.ForeignKey(
        "Handoff",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name=_("handoff"),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.SCHEDULED
    )
    price_charged = models.DecimalField(
        _("price charged"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    recall_due_on = models.DateField(
        _("check-up due"),
        null=True,
        blank=True,
        help_text=_("Set when care was finished at this visit without a treatment plan."),
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["patient", "starts_at"], name="visit_patient_start"),
            models.Index(fields=["branch", "starts_at"], name="visit_branch_start"),
            models.Index(fields=["doctor", "starts_at"], name="visit_doctor_start"),
            models.Index(fields=["status", "starts_at"], name="visit_status_start"),
            # A patient's no-shows, counted for each task's score on the worklist.
            models.Index(
                fields=["patient"],
                name="visit_patient_no_show",
                condition=models.Q(status="no_show"),
            ),
            models.Index(
                fields=["recall_due_on"],
                name="visit_recall_due",
                condition=models.Q(recall_due_on__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="visit_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(price_charged__isnull=True) | models.Q(price_charged__gte=0),
                name="visit_price_not_negative",
            ),
            # No doctor is ever in two places at once: PostgreSQL refuses overlapping
            # ranges for the same doctor, whatever code path writes the row.
            ExclusionConstraint(
                name="visit_doctor_no_overlap",
                expressions=[
                    ("doctor", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=~models.Q(status__in=["cancelled_by_patient", "cancelled_by_clinic"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} · {self.starts_at:%Y-%m-%d %H:%M}"
