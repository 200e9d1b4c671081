"""What in a journey an outbox message is about. Messaging's outbox knows patients but no
journeys; journeys keeps its own link from a message to the visit, plan and stage."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JourneyMessage(models.Model):
    """The visit a message reminds of (or follows up), and the plan and stage it belongs
    to. Written in the transaction that plans the message (``journey_message_plan``);
    a visit, plan or stage deleted later leaves the message, as the outbox keeps it."""

    message = models.OneToOneField(
        "messaging.Message",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="journey",
        verbose_name=_("message"),
    )
    # Indexed by the partial journey_message_visit (most messages have no visit).
    visit = models.ForeignKey(
        "Visit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="journey_messages",
        verbose_name=_("visit"),
        db_index=False,
    )
    plan = models.ForeignKey(
        "TreatmentPlan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="journey_messages",
        verbose_name=_("plan"),
    )
    stage = models.ForeignKey(
        "Stage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="journey_messages",
        verbose_name=_("stage"),
    )

    class Meta:
        verbose_name = _("message of a journey")
        verbose_name_plural = _("messages of journeys")
        indexes = [
            models.Index(
                fields=["visit"],
                name="journey_message_visit",
                condition=models.Q(visit__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.message_id}"
