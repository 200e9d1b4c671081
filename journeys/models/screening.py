"""Pre-visit screening: the questionnaire a patient fills in before a visit (complaints,
medicines, allergies, what to discuss), by service, and the answers given for a visit."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinic_crm.catalogue.models import Service

# An option of a "choice" question is one line: "Russian text | English text".
CHOICE_SEPARATOR = "|"


def choice_options(lines: str) -> list[tuple[str, str]]:
    """The options of a choice question as (text, English text), in order; a line without
    an English part keeps its one text for both."""
    options = []
    for line in lines.splitlines():
        text, _sep, text_en = (part.strip() for part in line.partition(CHOICE_SEPARATOR))
        if text:
            options.append((text, text_en or text))
    return options


class ScreeningForm(models.Model):
    """A questionnaire sent with the reminder of a visit. One per service at most; the
    form without a service is the clinic's default, for services without their own (or
    whose own is switched off). Managers keep the forms in the admin site."""

    # Indexed by screening_form_one_per_service.
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="screening_forms",
        verbose_name=_("service"),
        db_index=False,
        help_text=_("Leave empty for the clinic's default form, used for every other service."),
    )
    title = models.CharField(_("title"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pre-visit questionnaire")
        verbose_name_plural = _("pre-visit questionnaires")
        ordering = ["service__name", "title"]
        constraints = [
            # NULLS NOT DISTINCT: one default form (no service), one form per service.
            models.UniqueConstraint(
                fields=["service"], name="screening_form_one_per_service", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return self.title


class ScreeningQuestion(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        YES_NO = "yes_no", _("Yes or no")
        CHOICE = "choice", _("One of the options")

    form = models.ForeignKey(
        ScreeningForm,
        on_delete=models.CASCADE,
        related_name="questions",
        verbose_name=_("questionnaire"),
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    text = models.CharField(_("question"), max_length=300)
    text_en = models.CharField(_("question in English"), max_length=300, blank=True)
    kind = models.CharField(_("kind of answer"), max_length=8, choices=Kind.choices)
    choices = models.TextField(
        _("options"),
        blank=True,
        help_text=_(
            "For “one of the options”: one option a line, the English text after a "
            "vertical bar, e.g. “Да, регулярно | Yes, regularly”."
        ),
    )
    required = models.BooleanField(_("answer required"), default=False)

    class Meta:
        verbose_name = _("questionnaire question")
        verbose_name_plural = _("questionnaire questions")
        ordering = ["form", "position", "id"]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        if self.kind == self.Kind.CHOICE and len(choice_options(self.choices)) < 2:
            raise ValidationError(
                {"choices": _("Give at least two options, one a line.")}, code="choices"
            )

    def asked(self) -> dict[str, Any]:
        """The question as the patient saw it, kept with their answers (a later edit of
        the form doesn't change what they were asked)."""
        return {
            "id": self.pk,
            "text": self.text,
            "text_en": self.text_en,
            "kind": self.kind,
            "required": self.required,
            "options": [list(option) for option in choice_options(self.choices)],
        }


class Screening(models.Model):
    """A patient's answers to the questionnaire before one visit. Written once, when the
    patient sends it (a database trigger refuses any change afterwards); ``questions``
    keeps the questions as they were asked, ``answers`` maps a question's id to the
    answer: the text, "yes"/"no", or the option's text."""

    visit = models.OneToOneField(
        "Visit", on_delete=models.CASCADE, related_name="screening", verbose_name=_("visit")
    )
    form = models.ForeignKey(
        ScreeningForm,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="screenings",
        verbose_name=_("questionnaire"),
    )
    questions = models.JSONField(_("questions asked"), default=list)
    answers = models.JSONField(_("answers"), default=dict)
    submitted_at = models.DateTimeField(_("sent"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("pre-visit questionnaire answers")
        verbose_name_plural = _("pre-visit questionnaire answers")

    def __str__(self) -> str:
        return f"screening:visit:{self.visit_id}"

    def answers_shown(self) -> list[dict[str, str]]:
        """Each question asked with its answer, in the reader's language; questions left
        unanswered show as such."""
        english = translation.get_language() == "en"
        shown = []
        for question in self.questions:
            value = self.answers.get(str(question["id"]), "")
            if question["kind"] == ScreeningQuestion.Kind.YES_NO and value:
                value = gettext("Yes") if value == "yes" else gettext("No")
            elif question["kind"] == ScreeningQuestion.Kind.CHOICE and english:
                value = next((en for ru, en in question["options"] if ru == value), value)
            text = (question.get("text_en") or question["text"]) if english else question["text"]
            shown.append({"question": text, "answer": value})
        return shown
