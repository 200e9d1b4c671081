"""Treatment plans: the options a patient chooses between, and their staged visits."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Branch, Service, Specialty


class TreatmentPlan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        ABANDONED = "abandoned", _("Abandoned")

    OPEN_STATUSES = (Status.DRAFT, Status.PROPOSED, Status.ACCEPTED, Status.IN_PROGRESS)
    ACTIVE_STATUSES = (Status.ACCEPTED, Status.IN_PROGRESS)

    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="plans",
        verbose_name=_("patient"),
    )
    title = models.CharField(_("title"), max_length=200)
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="plans", verbose_name=_("branch")
    )
    lead_doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_plans",
        verbose_name=_("lead doctor"),
    )
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="curated_plans",
        verbose_name=_("curator"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    chosen_option = models.ForeignKey(
        "PlanOption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chosen option"),
    )
    # Kept by the database (trigger journeys_plan_next_stage, migration 0006): the first
    # open stage of the chosen option, so the routing queue reads one row per plan.
    next_stage = models.ForeignKey(
        "Stage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("next stage"),
    )
    # Kept by the same triggers (migration 0007): the next stage's window start while that
    # stage still waits to be booked (status planned), else empty. The routing queue reads
    # a branch's due plans straight off the partial index plan_booking_due.
    next_booking_due_on = models.DateField(
        _("next stage to book from"), null=True, blank=True, editable=False
    )
    observation_months = models.PositiveSmallIntegerField(
        _("observation period, months"),
        default=6,
        help_text=_("After completion the patient is invited for check-ups for this long."),
    )
    recall_due_on = models.DateField(_("next check-up due"), null=True, blank=True)
    abandon_reason = models.TextField(_("reason for abandoning"), blank=True)
    proposed_at = models.DateTimeField(_("proposed"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("treatment plan")
        verbose_name_plural = _("treatment plans")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["patient", "status"], name="plan_patient_status"),
            models.Index(fields=["curator", "status"], name="plan_curator_status"),
            models.Index(fields=["status", "recall_due_on"], name="plan_status_recall"),
            models.Index(
                fields=["branch", "next_booking_due_on"],
                name="plan_booking_due",
                condition=models.Q(
                    status__in=["accepted", "in_progress"], next_booking_due_on__isnull=False
                ),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="abandoned") | ~models.Q(abandon_reason=""),
                name="plan_abandoned_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PlanOption(models.Model):
    """One way to treat: its stages, cost, duration and the result in plain words."""

    plan = models.ForeignKey(
        "TreatmentPlan", on_delete=models.CASCADE, related_name="options", verbose_name=_("plan")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    title = models.CharField(_("title"), max_length=200)
    cost_estimate = models.DecimalField(
        _("cost estimate"), max_digits=12, decimal_places=2, default=0
    )
    duration_weeks = models.PositiveSmallIntegerField(_("duration, weeks"), default=1)
    expected_result = models.TextField(_("expected result"), blank=True)

    class Meta:
        verbose_name = _("plan option")
        verbose_name_plural = _("plan options")
        ordering = ["plan", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cost_estimate__gte=0), name="option_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Stage(models.Model):
    """A step of an option. Once the option is chosen its stages are the journey."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        BOOKED = "booked", _("Booked")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    option = models.ForeignKey(
        "PlanOption", on_delete=models.CASCADE, related_name="stages", verbose_name=_("option")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    title = models.CharField(_("title"), max_length=200)
    purpose = models.TextField(_("why you come that day"), blank=True)
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="stages", verbose_name=_("specialty")
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stages",
        verbose_name=_("service"),
    )
    significant = models.BooleanField(
        _("significant"), default=False, help_text=_("A fuller survey follows this stage.")
    )
    materials = models.TextField(
        _("materials for the patient"),
        blank=True,
        db_default="",  # bulk loaders (the large demo data set) need not name it
        help_text=_(
            "A short text (and links) the patient gets before this stage: what will happen, "
            "how to prepare, what to expect after."
        ),
    )
    materials_days_before = models.PositiveSmallIntegerField(
        _("send materials, days before"), default=2, db_default=2
    )
    offset_days = models.PositiveIntegerField(
        _("days after the start"),
        default=0,
        help_text=_("When this stage is expected, counted from the plan's acceptance."),
    )
    window_days = models.PositiveSmallIntegerField(_("window, days"), default=14)
    window_start = models.DateField(_("expected from"), null=True, blank=True)
    window_end = models.DateField(_("expected by"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["option", "position", "id"]
        indexes = [models.Index(fields=["status", "window_end"], name="stage_status_window")]

    def __str__(self) -> str:
        return self.title
