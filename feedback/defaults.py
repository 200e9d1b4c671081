"""The surveys, CSI aspects and complaint reasons a clinic starts with (editable by
managers in the admin)."""

from .reason_lexicon import LEXICON

ATTRIBUTES = [
    # key, name, name_en, question, question_en, importance
    (
        "communication",
        "Общение с врачом",
        "Communication with the doctor",
        "Насколько понятно врач объяснил, что происходит и что дальше?",
        "How clearly did the doctor explain what is happening and what comes next?",
        3,
    ),
    (
        "waiting",
        "Время ожидания",
        "Waiting time",
        "Устроило ли вас время ожидания приёма?",
        "Were you happy with how long you waited?",
        2,
    ),
    (
        "staff",
        "Отношение персонала",
        "Staff attitude",
        "Насколько внимательны были администраторы и ассистенты?",
        "How attentive were the front desk and the assistants?",
        2,
    ),
    (
        "comfort",
        "Комфорт",
        "Comfort",
        "Насколько комфортно вам было в клинике?",
        "How comfortable did you feel at the clinic?",
        1,
    ),
    (
        "clarity",
        "Понятность плана и цены",
        "Clarity of the plan and price",
        "Понятны ли вам план лечения и его стоимость?",
        "Do you understand your treatment plan and its cost?",
        3,
    ),
]

# key, name, name_en; the keywords are the tagger's starting ones (feedback.reason_lexicon).
REASON_NAMES = [
    ("waiting", "Долгое ожидание", "Long wait"),
    ("price", "Цена и оплата", "Price and payment"),
    ("explanation", "Непонятные объяснения", "Unclear explanations"),
    ("rudeness", "Невежливость", "Rudeness"),
    ("pain", "Боль и дискомфорт", "Pain and discomfort"),
    ("booking", "Запись и связь", "Booking and contact"),
    ("cleanliness", "Чистота", "Cleanliness"),
    ("documents", "Ошибки в документах", "Errors in documents, lost results"),
    ("results", "Лечение не помогло", "Treatment did not help or differs from what was promised"),
]
REASONS = [(key, name, name_en, "\n".join(LEXICON[key])) for key, name, name_en in REASON_NAMES]


def defaults_create(CsiAttribute, Survey, ReasonTag) -> None:  # noqa: N803 - models
    """Writes the starting aspects, surveys and reasons where there are none yet. Takes
    the models as arguments so that the migration can pass its historical ones."""
    if not CsiAttribute.objects.exists():
        for position, (key, name, name_en, question, question_en, importance) in enumerate(
            ATTRIBUTES, start=1
        ):
            CsiAttribute.objects.create(
                key=key,
                name=name,
                name_en=name_en,
                question=question,
                question_en=question_en,
                importance=importance,
                position=position,
            )
    if not Survey.objects.exists():
        visit = Survey.objects.create(kind="visit", name="После визита")
        visit.attributes.set(CsiAttribute.objects.filter(key__in=["communication", "waiting"]))
        stage = Survey.objects.create(kind="stage", name="После значимого этапа")
        stage.attributes.set(CsiAttribute.objects.all())
    recovery_survey_create(Survey)
    if not ReasonTag.objects.exists():
        for key, name, name_en, keywords in REASONS:
            ReasonTag.objects.create(key=key, name=name, name_en=name_en, keywords=keywords)


def recovery_survey_create(Survey) -> None:  # noqa: N803 - a model
    """The one question asked after a recovery call reached the patient."""
    if not Survey.objects.filter(kind="recovery").exists():
        Survey.objects.create(
            kind="recovery", name="После звонка по отзыву", asks_nps=True, asks_comment=False
        )
