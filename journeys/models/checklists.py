"""Visit checklists: templates by service and what was ticked at a visit."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Service


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
        "ChecklistTemplate",
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
        "Visit",
        on_delete=models.CASCADE,
        related_name="checklist_completions",
        verbose_name=_("visit"),
    )
    # PROTECT: an item with ticks can't be deleted, so past completion rates don't change
    # behind the manager's back; retire the template instead.
    item = models.ForeignKey(
        "ChecklistItem",
        on_delete=models.PROTECT,
        related_name="completions",
        verbose_name=_("item"),
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
