"""The complaint-reason tagger (feedback.reasons): dictionary forms in both languages,
negation, praise that looks like a complaint, and its precision and recall per reason on
a labelled set it was not tuned on (tests/feedback/reason_corpus.py)."""

import pytest

from feedback.reasons import LEXICON, complaint_reasons

# The held-out set's macro-F1 was 0.69 when the tagger landed; the issue asks for 0.85.
# With the keywords and the engine tuned on the larger DEV set (over a thousand comments)
# it is 0.861; the floor is the 0.85 (a keyword edit that loses one held-out hit
# must not fail the build at 0.86), and it may only go up.
MACRO_F1 = 0.85

EXAMPLES = [
    ("Совсем не больно, спасибо!", []),
    ("Ждать не пришлось", []),
    ("никакой очереди", []),
    ("Долго ждала, и дорого", ["waiting", "price"]),
    ("Ценю вашу работу", []),
    ("Лучшая больница города", []),
    ("Врач хороший, но ждали час", ["waiting"]),
    ("Анестезия не подействовала, было очень больно", ["pain"]),
    ("Потеряли мои анализы", ["documents"]),
    ("Не дозвониться до регистратуры", ["booking"]),
    ("Пломба выпала через неделю", ["results"]),
    ("Лечение не помогло", ["results"]),
    ("Грязный туалет", ["cleanliness"]),
    ("Нахамила администратор", ["rudeness"]),
    ("Врач толком ничего не объяснил", ["explanation"]),
    ("Объяснили всё подробно", []),
    ("Not rude at all, very kind", []),
    ("The doctor was rude and it hurt", ["rudeness", "pain"]),
    ("No waiting, great", []),
    ("Prices are too high", ["price"]),
    ("They lost my test results", ["documents"]),
    ("It didn't help", ["results"]),
    # Typos and words glued to "не", read as the keyword they misspell.
    ("балит после удаления", ["pain"]),
    ("врач ничё не обьяснил", ["explanation"]),
    ("пломба выпола через 2 дня", ["results"]),
    ("необьяснили ничего", ["explanation"]),
    # A negation about the other word of a ">" keyword, or after the word.
    ("Цены не высокие", []),
    ("Never had to wait more than five minutes", []),
    ("Боли не почувствовала вообще", []),
    ("Терпеть не могу стоматологов, но здесь всё прошло спокойно", []),
    ("Nobody told me about the side effects", ["explanation"]),
    # A dash joins a topic to what is said of it; "сдавать кровь" is no blood on the floor.
    ("Записаться — целый квест", ["booking"]),
    ("Сдавала кровь в 8 утра, всё быстро", []),
    ("", []),
    ("   ", []),
]


@pytest.mark.parametrize(("comment", "expected"), EXAMPLES)
def test_complaints_are_found_and_negations_and_praise_are_not(comment, expected):
    assert complaint_reasons(comment) == expected


def test_a_managers_keywords_replace_the_starting_ones():
    lexicon = {"parking": ["парковка>нет|негде|платный", "parking>no|paid"], "price": ["дорого"]}
    assert complaint_reasons("Негде парковаться? Нет, парковка платная и дорого", lexicon) == [
        "parking",
        "price",
    ]
    assert complaint_reasons("Парковка удобная", lexicon) == []
    assert complaint_reasons("Долго ждала", lexicon) == []  # not a reason of this lexicon


def test_a_typo_is_read_only_as_a_word_of_the_lexicon_in_use():
    lexicon = {"parking": ["парковка>платный|негде"]}
    assert complaint_reasons("Парковка платнаяя", lexicon) == ["parking"]
    assert complaint_reasons("балит после удаления", lexicon) == []


def test_hostile_input_is_read_as_text():
    assert complaint_reasons("<script>alert('больно')</script>" * 2000) == ["pain"]
    assert complaint_reasons("\x00\u202e дорого \U0001f621") == ["price"]


def _scores(labelled):
    counts = {reason: [0, 0, 0] for reason in LEXICON}  # true pos., false pos., false neg.
    for comment, expected in labelled:
        found = set(complaint_reasons(comment))
        for reason in LEXICON:
            if reason in found and reason in expected:
                counts[reason][0] += 1
            elif reason in found:
                counts[reason][1] += 1
            elif reason in expected:
                counts[reason][2] += 1
    scores = {}
    for reason, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[reason] = (precision, recall, f1)
    return scores


def test_precision_and_recall_per_reason_on_the_held_out_labelled_set():
    from tests.feedback.reason_corpus import LABELLED

    scores = _scores(LABELLED)
    table = "\n".join(
        f"{reason:12} precision {p:.2f} recall {r:.2f} F1 {f:.2f}"
        for reason, (p, r, f) in scores.items()
    )
    macro = sum(f for _p, _r, f in scores.values()) / len(scores)
    print(f"\n{table}\nmacro-F1 {macro:.3f} on {len(LABELLED)} comments")
    assert macro >= MACRO_F1, table
