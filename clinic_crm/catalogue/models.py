"""The clinic's catalogue that every layer refers to: its branches (each with its time
zone), the specialties of its doctors, and the services it provides. Kept by managers in
the admin site. Core layer: it imports no domain app."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from clinic_crm.zones import zone_or_clinic


class Branch(models.Model):
    """A clinic location."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    directions = models.TextField(
        _("parking and directions"),
        blank=True,
        help_text=_("How to get there and where to park; sent to patients in reminders."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Moscow")

    class Meta:
        db_table = "journeys_branch"  # the catalogue began in journeys; its tables stay
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The branch's local time (its zone, else the clinic's): the one rule."""
        return zone_or_clinic(self.time_zone)


class Specialty(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)

    class Meta:
        db_table = "journeys_specialty"
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """Something the clinic does in one visit: a consultation, a cleaning, an X-ray."""

    name = models.CharField(_("name"), max_length=200)
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="services", verbose_name=_("specialty")
    )
    duration_minutes = models.PositiveSmallIntegerField(_("duration, minutes"), default=30)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, default=0)
    preparation = models.TextField(
        _("preparation"), blank=True, help_text=_("What the patient should do before the visit.")
    )
    what_to_expect = models.TextField(_("what to expect"), blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    recall_interval_days = models.PositiveIntegerField(
        _("recall after, days"),
        null=True,
        blank=True,
        help_text=_("Invite the patient again this many days after the service."),
    )
    follow_up_next_day = models.BooleanField(_("ask “how do you feel?” next day"), default=False)
    cost_share = models.DecimalField(
        _("cost share"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_(
            "Part of the price that is cost (materials, lab, time), 0–1, for CLV; empty: "
            "the clinic's default in the metrics settings."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        db_table = "journeys_service"
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["specialty__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gt=0, duration_minutes__lte=600),
                name="service_duration_sane",
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="service_price_not_negative"
            ),
            models.UniqueConstraint(fields=["specialty", "name"], name="service_unique_name"),
            models.CheckConstraint(
                condition=models.Q(cost_share__isnull=True)
                | models.Q(cost_share__gte=0, cost_share__lte=1),
                name="service_cost_share_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name
