"""What a patient's comment complains about: ``complaint_reasons(comment)`` returns reason
keys ("waiting", "price", …).

Words are compared by their dictionary form, so one entry covers every inflection:
Russian by pymorphy3's lemma (its Russian dictionary comes from PyPI with it, nothing is
downloaded at run time), English by the Snowball stem. A comment is cut into clauses (at
punctuation and at "но", "but", …), and within a clause a negation ("не", "без",
"никакой", "not", "no", "n't" …) up to three words before a complaint word cancels it:
"совсем не больно", "ждать не пришлось", "not rude at all" are no complaints. Praise is
not mistaken for a complaint because the dictionary form differs ("ценю" is "ценить",
not "цена"; "больница" is not "больно").

A reason's keywords, one per line (the form ``ReasonTag.keywords`` takes):

- ``ждать`` — a Russian lemma or an English stem that marks the reason unless negated;
- ``!помочь`` — marks it only when negated ("не помогло", "didn't help");
- ``потерять+анализ`` — marks it when all these words are in one clause ("потеряли
  мои анализы");
- ``цена>высокий`` — the first word, with one of the others (after ``>``, separated by
  ``|``) within five words of it: "цены высокие", "high prices";
- ``wait~room`` — the first word unless one of the others is within five words of it
  ("the waiting room was dirty" is no complaint about waiting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .reason_lexicon import LEXICON

_WORD = re.compile(r"[a-zа-яё]+", re.IGNORECASE)
_CLAUSE = re.compile(r"[.!?;:,()\n—–]+|\s(?:но|однако|зато|а|but|however|though|although)\s")
_LATIN = re.compile(r"[a-z]")
WINDOW = 3  # a negation this many words before
NEAR = 5  # the words of a ">" or "~" keyword this many words around

NEGATIONS = frozenset(
    {
        "не", "нет", "ни", "без", "никакой", "ничуть", "нисколько", "никак", "ничто",
        "отсутствовать", "not", "no", "never", "without", "none", "nothing", "nobody",
        "neither", "nor", "hardly", "превзойти", "оправдать",
    }
)  # fmt: skip
# "ждать не пришлось", "очереди не было": a negation right after the word, before one of
# these, cancels it too.
AFTER_NEGATION = frozenset(
    {"прийтись", "быть", "стать", "оказаться", "надо", "нужно", "понадобиться"}
)


@dataclass(frozen=True)
class _Rule:
    reason: str
    words: tuple[str, ...]  # every one in the clause (one word for a plain keyword)
    near: frozenset[str] = frozenset()  # with one of these within NEAR words
    far: frozenset[str] = frozenset()  # with none of these within NEAR words
    when_negated: bool = False


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def normal_form(word: str) -> str:
    """The Russian lemma or the English stem of one lower-case word."""
    word = word.replace("ё", "е")
    if _LATIN.match(word):
        return str(_stemmer().stemWord(word))
    return str(_morph().parse(word)[0].normal_form).replace("ё", "е")


def _normal_keyword(text: str) -> str:
    text = text.strip().lower()
    return text if " " in text else normal_form(text)


def _rules(lexicon: Mapping[str, Iterable[str]]) -> list[_Rule]:
    rules = []
    for reason, keywords in lexicon.items():
        for line in keywords:
            line = line.strip().lower()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = line.lstrip("!")
            line, _, far = line.partition("~")
            head, _, near = line.partition(">")
            words = tuple(_normal_keyword(w) for w in head.split("+") if w.strip())
            nearby = frozenset(_normal_keyword(w) for w in near.split("|") if w.strip())
            away = frozenset(_normal_keyword(w) for w in far.split("|") if w.strip())
            if words:
                rules.append(_Rule(reason, words, nearby, away, negated))
    return rules


def _negated(tokens: list[str], index: int) -> bool:
    before = tokens[max(0, index - WINDOW) : index]
    if any(t in NEGATIONS for t in before):
        return True
    after = tokens[index + 1 : index + 3]
    if after[:1] == ["нет"]:  # "свободных окошек нет"
        return True
    return len(after) == 2 and after[0] in NEGATIONS and after[1] in AFTER_NEGATION


def _clauses(comment: str) -> list[list[str]]:
    text = comment.lower().replace("n't", " not").replace("’t", " not")
    clauses = []
    for part in _CLAUSE.split(f" {text} "):
        tokens = [normal_form(w) for w in _WORD.findall(part or "")]
        if tokens:
            clauses.append(tokens)
    return clauses


def _matches(rule: _Rule, tokens: list[str]) -> bool:
    positions = [i for i, t in enumerate(tokens) if t == rule.words[0]]
    if not positions or not all(w in tokens for w in rule.words[1:]):
        return False
    for i in positions:
        around = set(tokens[max(0, i - NEAR) : i + NEAR + 1])
        if (rule.near and not rule.near & around) or rule.far & around:
            continue
        if _negated(tokens, i) == rule.when_negated:
            return True
    return False


def complaint_reasons(
    comment: str, lexicon: Mapping[str, Iterable[str]] | None = None
) -> list[str]:
    """The reason keys the comment complains about, in the lexicon's order (default: the
    clinic's starting one, ``LEXICON``)."""
    if not comment or not comment.strip():
        return []
    rules = _default_rules() if lexicon is None else _rules(lexicon)
    clauses = _clauses(comment[:5000])
    found = []
    for rule in rules:
        if rule.reason not in found and any(_matches(rule, c) for c in clauses):
            found.append(rule.reason)
    order = list((lexicon or LEXICON).keys())
    return sorted(found, key=order.index)


@lru_cache(maxsize=1)
def _default_rules() -> list[_Rule]:
    return _rules(LEXICON)


__all__ = ["LEXICON", "complaint_reasons", "normal_form"]
