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
    comments by its keywords (Russian and English word stems, one per line)."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("name in English"), max_length=120, blank=True)
    keywords = models.TextField(
        _("keywords"),
        blank=True,
        help_text=_("Word stems that mark this reason in a comment, one per line."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reason")
        verbose_name_plural = _("reasons")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name

    def stems(self) -> list[str]:
        return [line.strip().lower() for line in self.keywords.splitlines() if line.strip()]


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
    negative = models.BooleanField(
        _("negative"),
        default=False,
        help_text=_("A detractor (0–6) or an aspect rated 1–2: recovery within 24 hours."),
    )
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
