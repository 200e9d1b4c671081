"""The improvements log ("you said, we did"): what the clinic changed because of what
patients said, for the whole clinic or one branch. Public ones are listed on the clinic's
page; patients whose negative feedback gave a reason an improvement answers can be told
(``feedback.improvements``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Improvement(models.Model):
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("title in English"), max_length=200, blank=True)
    description = models.TextField(
        _("what changed"), help_text=_("In plain words, as patients will read it.")
    )
    description_en = models.TextField(_("what changed, in English"), blank=True)
    changed_on = models.DateField(_("changed on"))
    reasons = models.ManyToManyField(
        "feedback.ReasonTag",
        related_name="improvements",
        blank=True,
        verbose_name=_("reasons it answers"),
        help_text=_("Patients whose negative feedback gave one of these reasons can be told."),
    )
    branch = models.ForeignKey(
        "catalogue.Branch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("branch"),
        help_text=_("Empty: the whole clinic."),
    )
    is_public = models.BooleanField(
        _("public"), default=False, help_text=_("Shown on the clinic's “You said, we did” page.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    announced_at = models.DateTimeField(_("patients told"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("improvement")
        verbose_name_plural = _("improvements")
        ordering = ["-changed_on", "-id"]
        indexes = [
            models.Index(
                fields=["-changed_on", "-id"],
                name="improvement_public",
                condition=models.Q(is_public=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def title_in(self, language: str) -> str:
        return self.title_en if language == "en" and self.title_en else self.title

    def description_in(self, language: str) -> str:
        return self.description_en if language == "en" and self.description_en else self.description
