"""The pre-visit questionnaire a clinic starts with (the default form, for every service
without its own); managers edit it in the admin site."""

from __future__ import annotations

from typing import Any

DEFAULT_TITLE = "Анкета перед визитом"

# text, text_en, kind, choices, required
DEFAULT_QUESTIONS: list[tuple[str, str, str, str, bool]] = [
    (
        "Что вас беспокоит? Опишите жалобы и как давно они появились.",
        "What is bothering you? Describe your complaints and since when you have them.",
        "text",
        "",
        True,
    ),
    (
        "Принимаете ли вы сейчас какие-либо лекарства?",
        "Are you taking any medicines at the moment?",
        "yes_no",
        "",
        True,
    ),
    (
        "Какие лекарства и в какой дозе?",
        "Which medicines, and in what dose?",
        "text",
        "",
        False,
    ),
    (
        "Есть ли у вас аллергия (на лекарства, анестезию, латекс, продукты)?",
        "Do you have any allergies (to medicines, anaesthesia, latex, food)?",
        "choice",
        "Нет | No\nДа | Yes\nНе знаю | I don't know",
        True,
    ),
    (
        "Если есть аллергия — на что и как она проявляется?",
        "If you have an allergy: to what, and how does it show?",
        "text",
        "",
        False,
    ),
    (
        "Что вы хотели бы обсудить с врачом?",
        "What would you like to discuss with the doctor?",
        "text",
        "",
        False,
    ),
]


def default_form_create(ScreeningForm: Any, ScreeningQuestion: Any) -> None:  # noqa: N803 - models
    """Writes the default form and its questions where there is no default form yet.
    Takes the model classes, so that the data migration can pass its historical ones."""
    if ScreeningForm.objects.filter(service__isnull=True).exists():
        return
    form = ScreeningForm.objects.create(service=None, title=DEFAULT_TITLE, is_active=True)
    ScreeningQuestion.objects.bulk_create(
        ScreeningQuestion(
            form=form,
            position=position,
            text=text,
            text_en=text_en,
            kind=kind,
            choices=choices,
            required=required,
        )
        for position, (text, text_en, kind, choices, required) in enumerate(
            DEFAULT_QUESTIONS, start=1
        )
    )
