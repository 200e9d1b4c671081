"""Rollups: what the dashboards read instead of raw visits and responses.

A DailyRollup row holds one clinic day × branch × doctor × specialty × stage kind: the
visits that ended there (completed, no-show, cancelled, revenue) and the survey answers
about those visits (promoters, passives, detractors, negative, recovered in time). A
DailyAttributeRollup row holds the CSI answers of the same group per aspect (count, sum,
sum of squares — enough for the mean and its interval); a DailyReasonRollup row, the
answers of the group that named a reason.

Rows are derived data: ``metrics.rollups`` recomputes a doctor's day whole from the raw
rows whenever something about it changes (PostgreSQL triggers on visits, responses and
recovery tasks queue the day in RollupDirty), and rebuilds everything nightly.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

GROUP_FIELDS = ("day", "branch", "doctor", "specialty", "stage_kind")


class RollupGroup(models.Model):
    """What a rollup row is grouped by."""

    day = models.DateField(_("day"))
    branch = models.ForeignKey(
        "catalogue.Branch", on_delete=models.CASCADE, related_name="+", verbose_name=_("branch")
    )
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        verbose_name=_("doctor"),
    )
    specialty = models.ForeignKey(
        "catalogue.Specialty",
        on_delete=models.CASCADE,
        null=True,
        related_name="+",
        verbose_name=_("specialty"),
    )
    stage_kind = models.CharField(_("stage kind"), max_length=16)

    class Meta:
        abstract = True


class RollupCounts(RollupGroup):
    """What a group's visits and answers add up to."""

    visits_completed = models.PositiveIntegerField(default=0)
    visits_no_show = models.PositiveIntegerField(default=0)
    visits_cancelled = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    responses = models.PositiveIntegerField(default=0)
    promoters = models.PositiveIntegerField(default=0)
    passives = models.PositiveIntegerField(default=0)
    detractors = models.PositiveIntegerField(default=0)
    csi_responses = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    negative_contacted_in_time = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        abstract = True


class AspectCounts(RollupGroup):
    """A group's answers about one CSI aspect: enough for the mean and its interval."""

    attribute = models.ForeignKey(
        "feedback.CsiAttribute", on_delete=models.CASCADE, related_name="+"
    )
    answers = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    total_sq = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class DailyRollup(RollupCounts):
    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            models.UniqueConstraint(
                fields=GROUP_FIELDS, name="rollup_one_row_per_group", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="rollup_day"),
            models.Index(fields=["doctor", "day"], name="rollup_doctor_day"),
            models.Index(fields=["branch", "day"], name="rollup_branch_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.branch_id} · {self.doctor_id}"


class DailyAttributeRollup(AspectCounts):
    class Meta:
        verbose_name = _("daily CSI rollup")
        verbose_name_plural = _("daily CSI rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[*GROUP_FIELDS, "attribute"],
                name="attribute_rollup_one_row_per_group",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="attribute_rollup_day"),
            models.Index(fields=["doctor", "day"], name="attribute_rollup_doctor_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.attribute_id}"


class DailyReasonRollup(RollupGroup):
    """A group's answers that named one reason (for "top reasons this week")."""

    reason = models.ForeignKey("feedback.ReasonTag", on_delete=models.CASCADE, related_name="+")
    answers = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily reason rollup")
        verbose_name_plural = _("daily reason rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[*GROUP_FIELDS, "reason"],
                name="reason_rollup_one_row_per_group",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="reason_rollup_day"),
            models.Index(fields=["doctor", "day"], name="reason_rollup_doctor_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.reason_id}"


class DailyChannelRollup(RollupGroup):
    """A group's survey funnel and scores by the channel the answer came by (SMS,
    email, Telegram, web link, clinic tablet, phone call) and the survey asked: answers
    by telephone, web link and tablet differ systematically, so they are read apart.
    ``invited`` … ``answered`` count invitations that went out (kept current for the
    doctor-day with each answer, and nightly); the scores count answers."""

    channel = models.CharField(max_length=16)
    survey_kind = models.CharField(max_length=16)
    invited = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    responses = models.PositiveIntegerField(default=0)
    promoters = models.PositiveIntegerField(default=0)
    passives = models.PositiveIntegerField(default=0)
    detractors = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily channel rollup")
        verbose_name_plural = _("daily channel rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[*GROUP_FIELDS, "channel", "survey_kind"],
                name="channel_rollup_one_row_per_group",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="channel_rollup_day"),
            models.Index(fields=["doctor", "day"], name="channel_rollup_doctor_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.channel} · {self.survey_kind}"


class PeriodRollup(RollupCounts):
    """The same sums over a *bucket*: the days a calendar week and a calendar month have
    in common (``day`` is the bucket's first day). A bucket lies in one week and one
    month, so weekly and monthly series both come from these rows; a long period reads
    them instead of ~7 times as many daily rows, and daily rows only at its edges."""

    class Meta:
        verbose_name = _("period rollup")
        verbose_name_plural = _("period rollups")
        constraints = [
            models.UniqueConstraint(
                fields=GROUP_FIELDS, name="period_rollup_one_row_per_group", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="period_rollup_day"),
            models.Index(fields=["doctor", "day"], name="period_rollup_doctor_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.branch_id} · {self.doctor_id}"


class PeriodAttributeRollup(AspectCounts):
    class Meta:
        verbose_name = _("period CSI rollup")
        verbose_name_plural = _("period CSI rollups")
        constraints = [
            models.UniqueConstraint(
                fields=[*GROUP_FIELDS, "attribute"],
                name="period_attribute_rollup_one_row",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="period_attribute_rollup_day"),
            models.Index(fields=["doctor", "day"], name="period_attr_rollup_doctor_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.attribute_id}"


class RollupDirty(models.Model):
    """A doctor's day whose rollups must be recomputed, queued by database triggers (so
    no write path can forget it). The day is the date at the visit's branch."""

    doctor_id = models.BigIntegerField(null=True)
    day = models.DateField()
    queued_at = models.DateTimeField(auto_now_add=True, db_default=models.functions.Now())

    class Meta:
        verbose_name = _("rollup to refresh")
        verbose_name_plural = _("rollups to refresh")

    def __str__(self) -> str:
        return f"{self.doctor_id} · {self.day or self.starts_at}"


class RollupState(models.Model):
    """One row: when the rollups were last rebuilt in full and last refreshed, for the
    dashboards' "as of", and the version of what they hold."""

    rebuilt_at = models.DateTimeField(null=True)
    # A new value in every transaction that writes rollups (``version``) or cohort
    # figures (``cohorts_version``): the dashboards keep what they computed from each
    # under it until it changes (see selectors).
    version = models.UUIDField(null=True)
    cohorts_version = models.UUIDField(null=True)
    rebuild_seconds = models.FloatField(null=True)
    refreshed_at = models.DateTimeField(null=True)
    cohorts_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup states")

    def __str__(self) -> str:
        return f"rebuilt {self.rebuilt_at}"

    @classmethod
    def touch(cls, *, cohorts: bool = False, **changes) -> None:
        """Records a write to the rollups, or with ``cohorts`` to the cohort figures,
        inside the transaction that makes it."""
        renewed = "cohorts_version" if cohorts else "version"
        cls.objects.update_or_create(pk=1, defaults={renewed: uuid.uuid4(), **changes})


class MetricsSettings(models.Model):
    """The clinic's choices for the metrics (one row, edited by managers in the admin)."""

    return_days = models.PositiveSmallIntegerField(
        _("return within, days"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("A first-time patient who comes again within this many days has returned."),
    )
    dormant_months = models.PositiveSmallIntegerField(
        _("dormant after, months"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("No visit for this long and nothing booked: the patient is dormant."),
    )
    min_sample = models.PositiveSmallIntegerField(
        _("minimum sample"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text=_("A doctor's or branch's figure from fewer answers or patients is hidden."),
    )
    discount_rate = models.DecimalField(
        _("discount rate per CLV period"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.1000"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    clv_period_months = models.PositiveSmallIntegerField(
        _("CLV period, months"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    cost_share = models.DecimalField(
        _("default cost share"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.400"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Part of a visit's price that is cost, for services without their own."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("metrics settings")
        verbose_name_plural = _("metrics settings")

    def __str__(self) -> str:
        return str(_("Metrics settings"))

    @classmethod
    def current(cls) -> MetricsSettings:
        settings_row, _created = cls.objects.get_or_create(pk=1)
        return settings_row


class CohortFigure(models.Model):
    """A cohort metric's counts for one month and branch (and doctor where it has one),
    snapshotted nightly: the dashboards add up the months of the period shown."""

    class Metric(models.TextChoices):
        RETURN = "return", _("Return rate")
        VISITS = "visits", _("Visits per patient in the first year")
        CLV = "clv", _("Customer lifetime value")
        COMPLETION = "completion", _("Treatment completion")
        DORMANT = "dormant", _("Dormant patients")
        REACTIVATED = "reactivated", _("Reactivated patients")
        RECOVERY_RETURN = "recovery_return", _("Came back after negative feedback")
        HANDOFF = "handoff", _("Handoff conversion")
        FIRST_CONTACT = "first_contact", _("Hours from booking request to contact")
        FUNNEL_ACCEPTED = "funnel_accepted", _("New patients who accepted a plan")
        FUNNEL_COMPLETED = "funnel_completed", _("New patients who completed a plan")
        RESURVEY = "resurvey", _("NPS points gained at the next answer after a negative one")

    metric = models.CharField(max_length=20, choices=Metric.choices)
    month = models.DateField()
    branch = models.ForeignKey(
        "catalogue.Branch", on_delete=models.CASCADE, null=True, related_name="+"
    )
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    hits = models.BigIntegerField(default=0)  # the numerator of a share
    n = models.BigIntegerField(default=0)  # the sample: patients, plans, responses…
    total = models.FloatField(default=0)  # the sum of a mean's values (visits, CLV, hours)
    total_sq = models.FloatField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("cohort figure")
        verbose_name_plural = _("cohort figures")
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "month", "branch", "doctor"],
                name="cohort_one_row_per_group",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["metric", "month"], name="cohort_metric_month")]

    def __str__(self) -> str:
        return f"{self.metric} · {self.month}"


class WeeklyReasonReport(models.Model):
    """The weekly pattern report of one clinic week (Monday to Sunday, by the clinic day
    of the visit): the reasons patients named overall, by branch, doctor and stage kind,
    and the changes against the four weeks before that are unlikely to be noise
    (``metrics.weekly_report``). ``data`` holds the computed rows; the page and the
    email are rendered from them on demand. Built again, a week's row is replaced."""

    week_start = models.DateField(_("week"), unique=True)
    built_at = models.DateTimeField(_("built"))
    # Claimed once by the Monday job (a conditional UPDATE), so a job run twice or a
    # rebuild never emails the managers again.
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    data = models.JSONField(_("figures"), default=dict)

    class Meta:
        verbose_name = _("weekly reasons report")
        verbose_name_plural = _("weekly reasons reports")
        ordering = ["-week_start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(week_start__iso_week_day=1), name="weekly_report_on_monday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.week_start}"
