"""Surveys and their answers: what patients said, ready to be grouped.

A Response copies in what it will be grouped by (branch, doctor, specialty, service and
its category, stage and stage kind, and the clinic day of the visit), so metrics never
join a response back through the visit, and a visit edited later does not rewrite what
the patient was answering about. Answers are immutable once recorded; only the recovery
fields (task, contact) change afterwards.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Channel

NPS_MAX = 10
CSI_SCALE_MAX = 5  # attribute answers 1–5
NEGATIVE_ATTRIBUTE_MAX = 2  # an attribute answered 1 or 2 makes a response negative


class StageKind(models.TextChoices):
    """Where in the journey a visit stood: outside any plan, a stage of a plan, or a
    significant stage (after which the fuller survey is asked)."""

    NONE = "none", _("Outside a plan")
    STAGE = "stage", _("Plan stage")
    SIGNIFICANT = "significant", _("Significant stage")


class ResponseChannel(models.TextChoices):
    """How the answer came: a patient channel's link, the clinic's tablet, or a call."""

    SMS = Channel.SMS.value, Channel.SMS.label
    EMAIL = Channel.EMAIL.value, Channel.EMAIL.label
    TELEGRAM = Channel.TELEGRAM.value, Channel.TELEGRAM.label
    PHONE_CALL = Channel.PHONE_CALL.value, Channel.PHONE_CALL.label
    KIOSK = "kiosk", _("Clinic tablet")
    WEB = "web", _("Web page")


class CsiAttribute(models.Model):
    """One aspect of care the patient rates 1–5 (SERVQUAL-style: communication, comfort,
    staff attitude, waiting time, clarity of explanations…), with its importance weight
    in the CSI."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("name in English"), max_length=120, blank=True)
    question = models.CharField(_("question"), max_length=300)
    question_en = models.CharField(_("question in English"), max_length=300, blank=True)
    importance = models.DecimalField(
        _("importance"),
        max_digits=4,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0.01), MaxValueValidator(10)],
        help_text=_("Weight in the CSI, 0.01–10: how much this aspect matters to patients."),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("CSI attribute")
        verbose_name_plural = _("CSI attributes")
        ordering = ["position", "key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(importance__gt=0, importance__lte=10),
                name="csi_attribute_importance_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


class Survey(models.Model):
    """What is asked: the post-visit micro-survey (NPS, at most two attributes, "why?")
    or the fuller survey after a significant stage."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("After a visit (micro-survey)")
        STAGE = "stage", _("After a significant stage")
        RECOVERY = "recovery", _("After a recovery call (one question)")

    MICRO_ATTRIBUTES_MAX = 2

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    attributes = models.ManyToManyField(
        CsiAttribute, related_name="surveys", blank=True, verbose_name=_("CSI attributes")
    )
    asks_nps = models.BooleanField(_("asks the NPS question"), default=True)
    asks_comment = models.BooleanField(_("asks “why?”"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(is_active=True),
                name="survey_one_active_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReasonTag(models.Model):
    """A recurring reason patients give ("waited too long", "unclear price"), found in
    comments by its keywords (one per line, in the syntax of ``feedback.reasons``)."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("name in English"), max_length=120, blank=True)
    keywords = models.TextField(
        _("keywords"),
        blank=True,
        help_text=_("Words that mark this reason in a comment, one keyword per line."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Tells the processes' cached keywords that they changed (feedback.reason_tags).
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reason")
        verbose_name_plural = _("reasons")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name

    def keyword_lines(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]


class Response(models.Model):
    survey = models.ForeignKey(
        Survey, on_delete=models.PROTECT, related_name="responses", verbose_name=_("survey")
    )
    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="responses",
        verbose_name=_("patient"),
    )
    visit = models.ForeignKey(
        "journeys.Visit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("visit"),
    )
    # Copied in from the visit when recorded: what the metrics group by.
    day = models.DateField(_("clinic day of the visit"))
    branch = models.ForeignKey(
        "catalogue.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch")
    )
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("doctor"),
    )
    specialty = models.ForeignKey(
        "catalogue.Specialty",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("specialty"),
    )
    service = models.ForeignKey(
        "catalogue.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service"),
    )
    service_category = models.CharField(_("service category"), max_length=100, blank=True)
    stage = models.ForeignKey(
        "journeys.Stage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("stage"),
    )
    stage_kind = models.CharField(
        _("stage kind"), max_length=16, choices=StageKind.choices, default=StageKind.NONE
    )
    channel = models.CharField(_("channel"), max_length=16, choices=ResponseChannel.choices)
    submitted_at = models.DateTimeField(_("answered"))
    nps_score = models.PositiveSmallIntegerField(
        _("would recommend, 0–10"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(NPS_MAX)],
    )
    comment = models.TextField(_("why"), blank=True)
    reasons = models.ManyToManyField(
        ReasonTag, related_name="responses", blank=True, verbose_name=_("reasons")
    )
    # The tagger's own answer (reason keys), kept when staff correct ``reasons``, so that
    # its agreement with them can be measured. None: answered before it was kept.
    tagged_reasons = models.JSONField(
        _("reasons found by the tagger"), null=True, blank=True, default=list
    )
    negative = models.BooleanField(
        _("negative"),
        default=False,
        help_text=_("A detractor (0–6) or an aspect rated 1–2: recovery within 24 hours."),
    )
    # The recovery loop: overdue calls escalate to the branch's manager; a patient reached
    # is asked again later ("how do you feel about the clinic now?", 0–10).
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    resurvey_score = models.PositiveSmallIntegerField(
        _("score after the recovery call, 0–10"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(NPS_MAX)],
    )
    resurvey_at = models.DateTimeField(_("answered after the recovery call"), null=True, blank=True)
    # The curator's call: the task's closing (done, with its outcome) is the contact.
    recovery_task = models.ForeignKey(
        "journeys.Task",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("recovery task"),
    )

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["doctor", "day"], name="response_doctor_day"),
            models.Index(fields=["branch", "day"], name="response_branch_day"),
            models.Index(fields=["patient", "submitted_at"], name="response_patient"),
            models.Index(fields=["day"], name="response_day"),
            models.Index(
                fields=["submitted_at"], name="response_negative", condition=models.Q(negative=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(nps_score__isnull=True) | models.Q(nps_score__lte=NPS_MAX),
                name="response_nps_0_10",
            ),
            # One answer per visit and survey: a second submission of the same link is
            # refused by the database, not only by the page.
            models.UniqueConstraint(
                fields=["visit", "survey"],
                condition=models.Q(visit__isnull=False),
                name="response_one_per_visit_survey",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} · {self.day}"


class AttributeAnswer(models.Model):
    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("response")
    )
    attribute = models.ForeignKey(
        CsiAttribute, on_delete=models.PROTECT, related_name="answers", verbose_name=_("aspect")
    )
    score = models.PositiveSmallIntegerField(
        _("score, 1–5"), validators=[MinValueValidator(1), MaxValueValidator(CSI_SCALE_MAX)]
    )

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "attribute"], name="answer_one_per_attribute"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=CSI_SCALE_MAX),
                name="answer_score_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.score}"


class ReasonCorrection(models.Model):
    """Staff set a response's reasons: what they were before and what staff chose.
    Append-only history; the response's ``reasons`` hold the latest choice."""

    response = models.ForeignKey(
        Response,
        on_delete=models.CASCADE,
        related_name="reason_corrections",
        verbose_name=_("response"),
    )
    reasons_before = models.JSONField(_("reasons before"), default=list, blank=True)
    reasons_after = models.JSONField(_("reasons after"), default=list, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("corrected by"),
    )
    corrected_at = models.DateTimeField(_("corrected"), default=timezone.now)

    class Meta:
        verbose_name = _("reason correction")
        verbose_name_plural = _("reason corrections")
        ordering = ["-corrected_at", "-id"]
        indexes = [
            models.Index(fields=["response", "-corrected_at"], name="reason_correction_response"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} · {self.corrected_at:%Y-%m-%d %H:%M}"


class FeedbackSettings(models.Model):
    """When and how often patients are asked: one row, edited by managers in the admin."""

    surveys = models.BooleanField(_("ask patients for feedback after visits"), default=True)
    delay_minutes = models.PositiveIntegerField(
        _("invitation goes out, minutes after the visit ends"),
        default=120,
        validators=[MaxValueValidator(7 * 24 * 60)],
        help_text=_("Inside the patient's allowed hours; most answers come within an hour."),
    )
    interval_days = models.PositiveSmallIntegerField(
        _("at most one survey per patient per, days"),
        default=7,
        validators=[MaxValueValidator(365)],
        help_text=_("A survey after a significant stage is sent even so."),
    )
    stale_hours = models.PositiveSmallIntegerField(
        _("an invitation not sent by then is dropped, hours after the visit"),
        default=72,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
    )
    reminder_hours = models.PositiveSmallIntegerField(
        _("one reminder to a patient who has not answered, hours after the invitation"),
        default=48,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
    )
    link_days = models.PositiveSmallIntegerField(
        _("a survey link works for, days"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    resurvey_days = models.PositiveSmallIntegerField(
        _("ask again after a recovery call, days"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text=_("“How do you feel about the clinic now?” to a patient who was reached."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("feedback settings")
        verbose_name_plural = _("feedback settings")

    def __str__(self) -> str:
        return str(_("Feedback settings"))

    @classmethod
    def current(cls) -> FeedbackSettings:
        """The clinic's settings; read at most every few seconds per process (a change
        saved anywhere applies within that time, at once in the saving process)."""
        from clinic_crm.messaging.caching import shortly_cached

        return shortly_cached("feedback.settings", lambda: cls.objects.get_or_create(pk=1)[0])


class SurveyInvitation(models.Model):
    """One patient asked about one visit: the short link's key, the questions it asks
    (the micro-survey's aspects rotate), the outbox messages that carry it, and the
    funnel (sent, opened, first answer, finished). The link works until it expires or
    the patient has finished; each answer is saved as it is given."""

    patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        related_name="survey_invitations",
        verbose_name=_("patient"),
    )
    visit = models.ForeignKey(
        "journeys.Visit",
        on_delete=models.PROTECT,
        related_name="survey_invitations",
        verbose_name=_("visit"),
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("survey")
    )
    # The random part of the short link; the link adds a signature of it (feedback.links).
    key = models.CharField(_("link key"), max_length=16, unique=True, editable=False)
    attribute_keys = models.JSONField(_("aspects asked"), default=list, blank=True)
    message = models.OneToOneField(
        "messaging.Message",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_invitation",
        verbose_name=_("invitation message"),
    )
    reminder = models.OneToOneField(
        "messaging.Message",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_reminder_of",
        verbose_name=_("reminder message"),
    )
    response = models.OneToOneField(
        Response,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitation",
        verbose_name=_("response"),
    )
    # A re-survey: the negative response whose recovery it checks (its answer is kept
    # there, not as a response of its own, so it never enters the NPS).
    recovers = models.ForeignKey(
        Response,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resurveys",
        verbose_name=_("recovery of"),
    )
    created_at = models.DateTimeField(_("planned"), auto_now_add=True)
    stale_at = models.DateTimeField(_("dropped if not sent by"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires"))
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    answered_at = models.DateTimeField(_("first answer"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="invitation_patient"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["visit", "survey"], name="invitation_once_per_visit")
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} · {self.visit_id} · {self.survey_id}"


from .models_improvements import Improvement  # noqa: E402,F401
from .models_kiosk import KioskDevice  # noqa: E402,F401
