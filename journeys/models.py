from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import Func
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic_crm.audit.tracking import AuditedQuerySet
from clinic_crm.catalogue.models import Branch, Service, Specialty
from journeys import texts


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WorkingHours(models.Model):
    """A doctor's regular weekly hours at a branch (in the branch's time zone)."""

    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="working_hours",
        verbose_name=_("doctor"),
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.CASCADE, related_name="working_hours", verbose_name=_("branch")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("to"))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["doctor", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")),
                name="working_hours_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["doctor", "weekday", "starts"], name="working_hours_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class ScheduleException(models.Model):
    """Days a doctor does not work: vacation, sick day, training."""

    class Kind(models.TextChoices):
        VACATION = "vacation", _("Vacation")
        SICK = "sick", _("Sick day")
        TRAINING = "training", _("Training")
        OTHER = "other", _("Other")

    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="schedule_exceptions",
        verbose_name=_("doctor"),
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to (inclusive)"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.VACATION)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("schedule exception")
        verbose_name_plural = _("schedule exceptions")
        ordering = ["doctor", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="schedule_exception_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.get_kind_display()} {self.starts_on}–{self.ends_on}"


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
        TreatmentPlan, on_delete=models.CASCADE, related_name="options", verbose_name=_("plan")
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
        PlanOption, on_delete=models.CASCADE, related_name="stages", verbose_name=_("option")
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
        Stage,
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
        TreatmentPlan,
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
        Visit,
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
        TreatmentPlan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("plan"),
    )
    visit = models.ForeignKey(
        Visit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("visit"),
    )
    stage = models.ForeignKey(
        Stage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("stage"),
    )
    handoff = models.ForeignKey(
        Handoff,
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


class Task(models.Model):
    """A worklist item for staff, created by rules with an SLA."""

    class Kind(models.TextChoices):
        STALLED_JOURNEY = "stalled_journey", _("Stalled journey")
        HANDOFF_NOT_BOOKED = "handoff_not_booked", _("Handoff not booked")
        RECALL_DUE = "recall_due", _("Check-up due")
        NEGATIVE_FEEDBACK = "negative_feedback", _("Negative feedback")
        FEELS_UNWELL = "feels_unwell", _("Patient feels unwell")
        DORMANT_PATIENT = "dormant_patient", _("Dormant patient")
        BOOKING_REQUEST = "booking_request", _("Booking request")
        SLOT_OFFER = "slot_offer", _("Offer a freed slot")
        REBOOK = "rebook", _("Rebook a missed or cancelled visit")
        OTHER = "other", _("Other")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATES = (State.OPEN, State.IN_PROGRESS)

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("patient"),
    )
    plan = models.ForeignKey(
        TreatmentPlan,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("plan"),
    )
    handoff = models.ForeignKey(
        Handoff,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("handoff"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("assignee"),
    )
    # Whose worklist an unassigned task is on: the branch of the plan, handoff or visit it
    # is about, else the patient's home branch. Filled by the database when a writer does
    # not know it (trigger in migration 0011).
    branch = models.ForeignKey(
        Branch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
    )
    cause_key = models.CharField(
        _("cause"),
        max_length=120,
        help_text=_("What made the rule open this task; one open task per cause."),
    )
    # The title as words in the language active when the task was opened: a fallback for
    # tasks without a text key (manual ones, rows older than the key) and for search.
    title = models.CharField(_("title"), max_length=300)
    # What the title says, as data: a renderer registered under ``title_key`` (see
    # journeys.texts) writes it from ``title_params`` in the reader's language.
    title_key = models.CharField(
        _("title kind"), max_length=40, blank=True, default="", db_default=""
    )
    title_params = models.JSONField(_("title parameters"), default=dict, blank=True, db_default={})
    details = models.TextField(_("details"), blank=True)
    due_at = models.DateTimeField(_("due"))
    risk = models.PositiveSmallIntegerField(_("dropout risk"), default=0)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.OPEN)
    outcome = models.TextField(_("outcome"), blank=True)
    # Calls that reached nobody (or "call back later"): the task stays open.
    attempts = models.PositiveSmallIntegerField(_("contact attempts"), default=0, db_default=0)
    last_attempt_at = models.DateTimeField(_("last contact attempt"), null=True, blank=True)
    last_attempt_note = models.CharField(
        _("last attempt's note"), max_length=200, blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    # Its state changes are audited, by update() too (journeys.audit).
    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "-risk"]
        indexes = [
            models.Index(fields=["assignee", "state", "due_at"], name="task_worklist"),
            # A patient's negative answers (their recovery tasks), for the worklist's score.
            models.Index(
                fields=["patient"],
                name="task_patient_negative",
                condition=models.Q(kind="negative_feedback"),
            ),
            # Unassigned open tasks of a branch: what any curator of the branch may take.
            models.Index(
                fields=["branch", "due_at"],
                name="task_unassigned_branch_due",
                condition=models.Q(assignee__isnull=True, state__in=["open", "in_progress"]),
            ),
            # Open tasks of a kind (the dashboard's open and overdue recovery calls):
            # a few hundred open rows among hundreds of thousands closed.
            models.Index(
                fields=["kind", "due_at"],
                name="task_open_kind_due",
                condition=models.Q(state__in=["open", "in_progress"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["cause_key"],
                condition=models.Q(state__in=["open", "in_progress"]),
                name="task_one_open_per_cause",
            ),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """The title in the reader's (active) language; the stored one when the task
        has no renderer."""
        return texts.task_title(self)


class WaitlistEntry(models.Model):
    """A patient who wants an earlier slot with a specialty (or a doctor)."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")

    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
        verbose_name=_("patient"),
    )
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="+", verbose_name=_("specialty")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("doctor"),
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.WAITING
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["specialty", "state", "created_at"], name="waitlist_specialty_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} · {self.specialty}"


class ChecklistTemplate(models.Model):
    """A list of steps one role goes through for a visit: the administrators' readiness
    check before it, the doctors' communication standard during it. Managers keep the
    templates in the admin site."""

    class Audience(models.TextChoices):
        # The values are role names: the role ticks the items of its own checklists.
        ADMINISTRATOR = "administrator", _("Administrator")
        DOCTOR = "doctor", _("Doctor")

    name = models.CharField(_("name"), max_length=200, unique=True)
    audience = models.CharField(_("who ticks it"), max_length=20, choices=Audience.choices)
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="checklist_templates",
        verbose_name=_("services"),
        help_text=_("The visit types it is used for. Leave empty to use it for every service."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["audience", "name"]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    template = models.ForeignKey(
        ChecklistTemplate,
        on_delete=models.CASCADE,
        related_name="items",
        verbose_name=_("checklist"),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    text = models.CharField(_("text"), max_length=300)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.text


class ChecklistCompletion(models.Model):
    """One item ticked for one visit. Unticking deletes the row; the audit log keeps both."""

    visit = models.ForeignKey(
        Visit,
        on_delete=models.CASCADE,
        related_name="checklist_completions",
        verbose_name=_("visit"),
    )
    # PROTECT: an item with ticks can't be deleted, so past completion rates don't change
    # behind the manager's back; retire the template instead.
    item = models.ForeignKey(
        ChecklistItem, on_delete=models.PROTECT, related_name="completions", verbose_name=_("item")
    )
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ticked by"),
    )
    checked_at = models.DateTimeField(_("ticked at"), default=timezone.now)

    class Meta:
        verbose_name = _("checklist completion")
        verbose_name_plural = _("checklist completions")
        ordering = ["visit", "item"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "item"], name="checklist_item_once_per_visit"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_id} · {self.item}"
