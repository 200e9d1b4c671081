"""What a patient's comment complains about: ``complaint_reasons(comment)`` returns reason
keys ("waiting", "price", …).

Words are compared by their dictionary form, so one entry covers every inflection:
Russian by pymorphy3's lemma (its Russian dictionary comes from PyPI with it, nothing is
downloaded at run time), English by the Snowball stem; English articles are not counted
as words, and every English negation word ("no", "never", "nobody", "n't" …) is read as
"not". A comment is cut into clauses at punctuation and at "но", "а", "хотя", "but", …;
not at a dash, which joins a topic to what is said of it ("записаться — целый квест"),
nor at the comma before "что", "чтобы", "который", which belongs to the clause before.

Within a clause a negation cancels a complaint word: "не", "ни", "без", "никакой",
"not" … up to three words before it ("нет" up to two: "нет бумаги, и грязно" still
complains about dirt); "нет", "никакой", "ноль", "free" up to three words after it ("боли
никакой", "свободных мест нет", "pain free"), unless "что", "и", … comes first; and a
negation with a verb such as "пришлось", "было", "почувствовала", "могу" just after it
("ждать не пришлось", "боли вообще не было", "терпеть не могу"). So "совсем не больно",
"ждать не пришлось", "not rude at all" are no complaints. Praise is not mistaken for a
complaint because the dictionary form differs ("ценю" is "ценить", not "цена";
"больница" is not "больно"). "до сих пор" counts as one word and "так и не" as "не".

Typos: a Russian word the dictionary does not know, of five letters or more, is read as
a keyword's word (in any of its forms) that differs from it by one letter left out,
added, changed, or two neighbouring ones swapped, keeping the first letter ("балит" is
"болит", "обьяснил" is "объяснил"); and an unknown word glued to "не" is read as the two
("непомогло").

A reason's keywords, one per line (the form ``ReasonTag.keywords`` takes):

- ``ждать`` — a Russian lemma or an English stem that marks the reason unless negated;
- ``!помочь`` — marks it only when negated ("не помогло", "didn't help");
- ``потерять+анализ`` — marks it when all these words are in one clause ("потеряли
  мои анализы");
- ``цена>высокий`` — the first word, with one of the others (after ``>``, separated by
  ``|``) within five words of it: "цены высокие", "high prices"; for a complaint word
  (not a ``!`` one) the other word must not be denied itself, so "цены не высокие" and
  "never had to wait more than five minutes" are no complaints;
- ``wait~room`` — the first word unless one of the others is within five words of it
  ("the waiting room was dirty" is no complaint about waiting).

The forms combine in this order: ``!выдать+справка>вовремя~быстро``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .reason_lexicon import LEXICON

_WORD = re.compile(r"[a-zа-яё]+", re.IGNORECASE)
_CLAUSE = re.compile(r"[.!?;:,()\n«»\"]+|\s(?:но|однако|зато|а|хотя|but|however|though|although)\s")
_SUBORDINATE = re.compile(r",\s*(?=(?:что|чтобы|котор[а-я]+)\b)")  # ", что" stays
_STILL = re.compile(r"\bдо\s+сих\s+пор\b")  # one word, not three, within NEAR
_SO_NOT = re.compile(r"\bтак\s+и\s+не\b")  # "так и не оформили" is "не оформили"
_LATIN = re.compile(r"[a-z]")
WINDOW = 3  # a negation this many words before
NEAR = 5  # the words of a ">" or "~" keyword this many words around
TYPO_LENGTH = 5  # unknown Russian words this long are compared with the keywords' forms
NOT = "not"  # the token every English negation word becomes
_ARTICLES = frozenset({"the", "a", "an"})  # not counted as words ("forgot to give me the note")

NEGATIONS = frozenset(
    {
        "не", "нет", "нету", "ни", "без", "никакой", "ничуть", "нисколько", "никак", "ничто",
        "ничего", "никогда", "отсутствовать", "превзойти", "оправдать", NOT,
    }
)  # fmt: skip
# How far before a word each negation reaches when it is not WINDOW: "нет" denies the
# noun right after it ("нет бумаги, и грязно").
REACH = {"нет": 2, "нету": 2}
# English words that are negations, before the stemmer (which makes "nobody" "nobodi"
# and "hardly" "hard").
ENGLISH_NEGATIONS = frozenset(
    {
        "not", "no", "never", "without", "none", "nothing", "nobody", "noone", "neither",
        "nor", "hardly", "barely", "zero", "nowhere",
    }
)  # fmt: skip
# "боли никакой", "свободных мест к ортодонту нет", "pain free": one of these up to three
# words after the word cancels it.
NEGATIONS_AFTER = frozenset({"нет", "нету", "никакой", "ноль", "free"})
# A negation after one of these is about what follows them, not about the word before.
CLAUSE_WORDS = frozenset({"что", "чтобы", "который", "и", "или", "когда", "если", "потому"})
# "ждать не пришлось", "боли не почувствовала", "терпеть не могу": a negation right after
# the word (or two words after it), before one of these, cancels it too.
AFTER_NEGATION = frozenset(
    {
        "прийтись", "быть", "стать", "оказаться", "надо", "нужно", "понадобиться",
        "чувствовать", "почувствовать", "ощущать", "ощутить", "возникнуть", "возникать",
        "мочь", "смочь", "удаться", "успеть", "заметить", "замечать", "наблюдаться",
        "удосужиться", "получиться", "хотеть", "захотеть", "потребоваться", "становиться",
    }
)  # fmt: skip

# Between a negation and the word it denies: "не очень высокие", "never had to wait".
PASS_OVER = frozenset(
    {
        "очень", "слишком", "особо", "особенно", "сильно", "так", "совсем", "вовсе", "уж",
        "быть", "бы", "же", "прям", "прямо", "настолько", "такой", "very", "too", "so",
        "that", "really", "particularly", "be", "is", "was", "were", "are", "have", "had",
        "has", "to", "at", "all", "even", "any", "ani",
    }
)  # fmt: skip


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


# A comment's word as the rules see it: its normal form, and the word itself when the
# Russian dictionary does not know it (a typo to look up among the keywords' forms).
_Token = tuple[str, str | None]


@lru_cache(maxsize=50_000)
def _tokens(word: str) -> tuple[_Token, ...]:
    word = word.replace("ё", "е")
    if _LATIN.match(word):
        return ((NOT if word in ENGLISH_NEGATIONS else normal_form(word), None),)
    morph = _morph()
    if len(word) < TYPO_LENGTH or morph.word_is_known(word):
        return ((normal_form(word), None),)
    rest = word[2:]
    if word.startswith("не") and len(rest) >= 3:  # "непомогло", "необьяснили"
        return (("не", None), *_tokens(rest))
    return ((normal_form(word), word),)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(word: str, form: str) -> bool:
    """Whether ``form`` is ``word`` with one letter left out, added, changed, or two
    neighbouring letters swapped."""
    if word == form or abs(len(word) - len(form)) > 1:
        return False
    start = 0
    while start < min(len(word), len(form)) and word[start] == form[start]:
        start += 1
    a, b = word[start:], form[start:]
    if len(a) == len(b):
        return a[1:] == b[1:] or (len(a) > 1 and a[0] == b[1] and a[1] == b[0] and a[2:] == b[2:])
    return a[1:] == b if len(a) > len(b) else a == b[1:]


@dataclass
class _Compiled:
    """A lexicon's rules by their first word, and its words' forms for reading typos."""

    rules: list[_Rule]
    by_head: dict[str, list[_Rule]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)
    # A form, or a form less one letter, of a Russian keyword word -> (form, lemma).
    _forms: dict[str, list[tuple[str, str]]] | None = None
    _typos: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule in self.rules:
            self.by_head.setdefault(rule.words[0], []).append(rule)
            self.order.setdefault(rule.reason, len(self.order))

    def _keyword_forms(self) -> dict[str, list[tuple[str, str]]]:
        if self._forms is None:
            lemmas: set[str] = set()
            for rule in self.rules:
                lemmas.update(rule.words, rule.near)
            forms: dict[str, list[tuple[str, str]]] = {}
            morph = _morph()
            for lemma in lemmas:
                if len(lemma) < TYPO_LENGTH - 1 or _LATIN.match(lemma) or " " in lemma:
                    continue
                spelled = {lemma}
                for parse in morph.parse(lemma):
                    if parse.normal_form.replace("ё", "е") == lemma:
                        spelled.update(f.word.replace("ё", "е") for f in parse.lexeme)
                        break
                for form in spelled:
                    if len(form) >= TYPO_LENGTH - 1:
                        for key in {form, *_deletions(form)}:
                            forms.setdefault(key, []).append((form, lemma))
            self._forms = forms
        return self._forms

    def typo(self, word: str) -> str | None:
        """The keyword word that the unknown ``word`` misspells, if exactly one does."""
        if word in self._typos:
            return self._typos[word]
        forms = self._keyword_forms()
        found: set[str] = set()
        for key in {word, *_deletions(word)}:
            for form, lemma in forms.get(key, ()):
                if form[0] == word[0] and _one_edit(word, form):
                    found.add(lemma)
        meant = found.pop() if len(found) == 1 else None
        if len(self._typos) < 50_000:
            self._typos[word] = meant
        return meant


def _normal_keyword(text: str) -> str:
    text = text.strip().lower()
    if text in ENGLISH_NEGATIONS:
        return NOT  # as in a comment
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
    for j in range(max(0, index - WINDOW), index):
        token = tokens[j]
        if token in NEGATIONS and index - j <= REACH.get(token, WINDOW):
            return True
    return _negated_after(tokens, index)


def _negated_after(tokens: list[str], index: int) -> bool:
    after = tokens[index + 1 : index + 4]
    for j, token in enumerate(after):
        if token in CLAUSE_WORDS:  # "сказали, что записи нет": not about "сказали"
            after = after[:j]
            break
    if NEGATIONS_AFTER.intersection(after):
        return True
    for j, token in enumerate(after[:2]):
        if token in NEGATIONS and j + 1 < len(after) and after[j + 1] in AFTER_NEGATION:
            return True
    return False


def _clauses(comment: str, compiled: _Compiled) -> list[list[str]]:
    text = comment.lower().replace("n't", " not").replace("’t", " not")
    text = _SUBORDINATE.sub(" ", text)
    text = _STILL.sub(" досихпор ", text)
    text = _SO_NOT.sub(" не ", text)
    clauses = []
    for part in _CLAUSE.split(f" {text} "):
        tokens = []
        for word in _WORD.findall(part or ""):
            if word in _ARTICLES:
                continue
            for normal, unknown in _tokens(word):
                if unknown is not None:
                    normal = compiled.typo(unknown) or normal
                tokens.append(normal)
        if tokens:
            clauses.append(tokens)
    return clauses


def _denied(tokens: list[str], index: int) -> bool:
    """Whether a negation is about this word itself: right before it but for the words
    in ``PASS_OVER`` ("цены не очень высокие", "never had to wait"; not "не ожидала таких
    цен"), or after it as in ``_negated``."""
    for j in range(index - 1, max(-1, index - 1 - WINDOW), -1):
        if tokens[j] in NEGATIONS:
            return True
        if tokens[j] not in PASS_OVER:
            break
    return _negated_after(tokens, index)


def _near_one(rule: _Rule, tokens: list[str], index: int) -> bool:
    """Whether one of the rule's ``>`` words is within NEAR words of ``index``; for a
    complaint word (not a ``!`` one), one that is not denied itself ("цены не высокие",
    "never had to wait more than five minutes" are no complaints)."""
    start = max(0, index - NEAR)
    for j, token in enumerate(tokens[start : index + NEAR + 1], start):
        if j != index and token in rule.near:
            if rule.when_negated or not _denied(tokens, j):
                return True
    return False


def _matches(rule: _Rule, tokens: list[str]) -> bool:
    if len(rule.words) > 1 and not all(w in tokens for w in rule.words[1:]):
        return False
    head = rule.words[0]
    for i, token in enumerate(tokens):
        if token != head:
            continue
        if rule.far and not rule.far.isdisjoint(tokens[max(0, i - NEAR) : i + NEAR + 1]):
            continue
        if rule.near and not _near_one(rule, tokens, i):
            continue
        if _negated(tokens, i) == rule.when_negated:
            return True
    return False


LexiconSource = Callable[[], tuple[Hashable, Mapping[str, Iterable[str]]]]
_source: list[LexiconSource] = []


def lexicon_source_register(source: LexiconSource) -> None:
    """Where ``complaint_reasons`` finds the clinic's keywords when it is given none:
    ``source()`` answers ``(version, lexicon)`` and the rules are compiled again only
    when the version changes (the managers' ReasonTag keywords). Without a source, the
    starting ``LEXICON``."""
    _source[:] = [source]


def current_lexicon() -> tuple[Hashable, Mapping[str, Iterable[str]]]:
    if _source:
        return _source[0]()
    return "builtin", LEXICON


def complaint_reasons(
    comment: str, lexicon: Mapping[str, Iterable[str]] | None = None
) -> list[str]:
    """The reason keys the comment complains about, in the lexicon's order (default: the
    clinic's current one, ``current_lexicon()``)."""
    if not comment or not comment.strip():
        return []
    if lexicon is None:
        version, lexicon = current_lexicon()
        compiled = _rules_of(version, lexicon)
    else:
        lexicon = {reason: tuple(lines) for reason, lines in lexicon.items()}
        compiled = _given(tuple(lexicon.items()))
    found: set[str] = set()
    for tokens in _clauses(comment[:5000], compiled):
        for token in set(tokens):
            for rule in compiled.by_head.get(token, ()):
                if rule.reason not in found and _matches(rule, tokens):
                    found.add(rule.reason)
    return sorted(found, key=compiled.order.__getitem__)


_compiled: dict[Hashable, _Compiled] = {}


@lru_cache(maxsize=8)
def _given(lexicon: tuple[tuple[str, tuple[str, ...]], ...]) -> _Compiled:
    """A lexicon passed to ``complaint_reasons``, compiled once for repeated calls."""
    return _Compiled(_rules(dict(lexicon)))


def _rules_of(version: Hashable, lexicon: Mapping[str, Iterable[str]]) -> _Compiled:
    compiled = _compiled.get(version)
    if compiled is None:
        compiled = _Compiled(_rules(lexicon))
        _compiled.clear()  # only the current version is kept
        _compiled[version] = compiled
    return compiled


__all__ = [
    "LEXICON",
    "complaint_reasons",
    "current_lexicon",
    "lexicon_source_register",
    "normal_form",
]
