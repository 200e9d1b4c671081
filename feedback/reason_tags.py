"""The clinic's reason tags as the tagger's lexicon, and what a keyword line may say.

``clinic_lexicon`` is the source ``feedback.reasons.complaint_reasons`` reads (registered
from ``FeedbackConfig.ready``): the active tags' keyword lines by key, in the order the
tags were made. Every answer with a comment asks for it, so it is kept in process memory:
at most every ``CHECK_SECONDS`` one small query (the latest ``updated_at`` and the number
of tags) tells whether a manager changed a tag, and only then are the keywords read
again. Saving or deleting a tag forgets it in the saving process at once (the signals
connected in ``FeedbackConfig.ready``); other processes see it within ``CHECK_SECONDS``.

``keyword_line_problem`` checks one line against the syntax the tagger reads (the
module docstring of ``feedback.reasons``); the admin refuses a tag's keywords with it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from time import monotonic

from django.db.models import Count, Max
from django.utils.translation import gettext as _

from .models import ReasonTag
from .reasons import complaint_reasons

CHECK_SECONDS = 5.0

Lexicon = dict[str, list[str]]


@dataclass(frozen=True)
class _Cached:
    checked: float
    version: Hashable
    lexicon: Lexicon


_lock = threading.Lock()
_cached: list[_Cached] = []
_generation = [0]  # bumped by a save or delete in this process


def forget(*_args: object, **_kwargs: object) -> None:
    """Drops the cached keywords (a tag was saved or deleted; a test starts)."""
    with _lock:
        _cached.clear()
        _generation[0] += 1


def _version() -> Hashable:
    found = ReasonTag.objects.aggregate(latest=Max("updated_at"), tags=Count("id"))
    return (found["latest"], found["tags"])


def _load() -> Lexicon:
    lexicon: Lexicon = {}
    for tag in ReasonTag.objects.filter(is_active=True).order_by("pk").only("key", "keywords"):
        lexicon[tag.key] = tag.keyword_lines()
    return lexicon


def clinic_lexicon() -> tuple[Hashable, Lexicon]:
    """``(version, {reason key: keyword lines})`` of the active tags, the source that
    ``complaint_reasons`` compiles its rules from (again only when the version changes)."""
    now = monotonic()
    with _lock:
        hit = _cached[0] if _cached else None
        generation = _generation[0]
    if hit is not None and now - hit.checked < CHECK_SECONDS:
        return hit.version, hit.lexicon
    version = (generation, _version())
    if hit is not None and hit.version == version:
        fresh = _Cached(now, version, hit.lexicon)
    else:
        fresh = _Cached(now, version, _load())
    with _lock:
        if _generation[0] == generation:  # not forgotten meanwhile
            _cached[:] = [fresh]
    return fresh.version, fresh.lexicon


def comment_reason_tags(comment: str) -> list[ReasonTag]:
    """The active tags the comment complains about, in the tagger's order (one query,
    none for an empty comment or one without complaints)."""
    keys = complaint_reasons(comment)
    if not keys:
        return []
    tags = {tag.key: tag for tag in ReasonTag.objects.filter(is_active=True, key__in=keys)}
    return [tags[key] for key in keys if key in tags]


# --- the syntax of a keyword line -------------------------------------------------------

_ALLOWED = re.compile(r"[a-zа-яё!+>~| \t-]+", re.IGNORECASE)
_WORD = re.compile(r"[a-zа-яё]+", re.IGNORECASE)


def _word_problem(word: str) -> str | None:
    word = word.strip()
    if not word:
        return None  # the caller names what is missing where
    if "-" in word or " " in word or "\t" in word:
        return _(
            "each keyword is a single word (to ask for several words in one clause, join "
            "them with “+”)"
        )
    if not _WORD.fullmatch(word):
        return _("use only Russian or English letters and the signs ! + > ~ |")
    return None


def _words_problem(part: str, separator: str, missing: str) -> str | None:
    words = part.split(separator)
    if any(not word.strip() for word in words):
        return missing
    for word in words:
        problem = _word_problem(word)
        if problem:
            return problem
    return None


def keyword_line_problem(line: str) -> str | None:
    """What is wrong with one keyword line, in words a manager understands; None when
    the tagger reads it as meant (blank lines are fine: they are skipped)."""
    text = line.strip()
    if not text:
        return None
    if not _ALLOWED.fullmatch(text):
        return _("use only Russian or English letters and the signs ! + > ~ |")
    if text.startswith("!"):
        text = text[1:].strip()
    if "!" in text:
        return _("“!” goes only at the start of the line")
    if text.count(">") > 1 or text.count("~") > 1:
        return _("“>” and “~” may each be used once in a line")
    if ">" in text and "~" in text and text.index("~") < text.index(">"):
        return _("put “>” before “~”")
    head, _sep, far = text.partition("~")
    head, has_near, near = head.partition(">")
    if not head.strip():
        if not text:
            return _("a word must follow “!”")
        return _("the line must start with a word")
    if "|" in head:
        return _("“|” separates the words after “>” or “~”")
    if "+" in near or "+" in far:
        return _("“+” joins words only before “>” or “~”")
    problem = _words_problem(head, "+", _("a word is missing before or after “+”"))
    if problem:
        return problem
    if has_near:
        problem = _words_problem(near, "|", _("a word is missing after “>” or around “|”"))
        if problem:
            return problem
    if "~" in text:
        problem = _words_problem(far, "|", _("a word is missing after “~” or around “|”"))
        if problem:
            return problem
    return None


def keyword_problems(lines: Iterable[str]) -> list[tuple[int, str, str]]:
    """``(line number, line, problem)`` for every line the tagger would misread."""
    found = []
    for number, line in enumerate(lines, start=1):
        problem = keyword_line_problem(line)
        if problem:
            found.append((number, line.strip(), problem))
    return found
