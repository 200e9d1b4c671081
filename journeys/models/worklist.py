"""Tasks on the curators' and the front desk's worklists."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic_crm.audit.tracking import AuditedQuerySet
from clinic_crm.catalogue.models import Branch
from journeys import texts


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

    class Result(models.TextChoices):
        """How a call to the patient ended (required when a recovery call is closed)."""

        REACHED_SOLVED = "reached_solved", _("Reached, problem solved")
        REACHED_NOT_SOLVED = "reached_not_solved", _("Reached, not solved")
        REFUSED = "refused", _("Refused to talk")
        UNREACHABLE = "unreachable", _("Unreachable after three attempts")

    REACHED = (Result.REACHED_SOLVED, Result.REACHED_NOT_SOLVED)
    UNREACHABLE_AFTER_ATTEMPTS = 3

    OPEN_STATES = (State.OPEN, State.IN_PROGRESS)

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("patient"),
    )
    plan = models.ForeignKey(
        "TreatmentPlan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("plan"),
    )
    handoff = models.ForeignKey(
        "Handoff",
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
    result = models.CharField(
        _("result"), max_length=24, choices=Result.choices, blank=True, default="", db_default=""
    )
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
