"""Doctors' regular weekly hours at a branch and their exceptions (days off, extra days)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Branch


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
