"""The answers patients give through the links in their messages (no account)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LinkAnswer(models.Model):
    """The answer a patient gave through a message's answer link. Each link is answered
    once: the first answer stands, a repeat (the same or another, two taps at once
    included) records nothing; the unique constraint is what makes that hold."""

    class Link(models.TextChoices):
        VISIT = "visit", _("Reminder: confirm, cancel or reschedule")
        FEEL = "feel", _("“How do you feel?”")

    class Answer(models.TextChoices):
        # As the buttons the patient tapped read.
        CONFIRM = "confirm", _("I will come")
        CANCEL = "cancel", _("Cancel the visit")
        RESCHEDULE = "reschedule", _("I need another time")
        WELL = "well", _("Good")
        UNWELL = "unwell", _("Not well")

    link = models.CharField(_("link"), max_length=8, choices=Link.choices)
    # Indexed by link_answer_once (visit first).
    visit = models.ForeignKey(
        "Visit",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("visit"),
        db_index=False,
    )
    # The visit's start the link was sent for: the reminder of a moved visit is a new link.
    visit_starts_at = models.DateTimeField(_("visit start the link was sent for"))
    answer = models.CharField(_("answer"), max_length=16, choices=Answer.choices)
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)

    class Meta:
        db_table = "messaging_linkanswer"  # began in messaging; its table stays
        verbose_name = _("answer by link")
        verbose_name_plural = _("answers by link")
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "link", "visit_starts_at"], name="link_answer_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.link}:{self.visit_id}: {self.answer}"
