"""Stored facts written in the reader's language.

A task's title and a journey event's summary used to be words in the language of
whoever was logged in when a rule fired ("Позвонить пациенту…" for an English reader).
Now the writer stores what happened as data — a task's ``title_key`` and
``title_params``, an event's ``kind`` and ``data`` — and a renderer registered here turns
it into words when the page is drawn, in the language active then.

Journeys registers the renderers of its own texts (``journeys.texts_builtin``, from
``JourneysConfig.ready``); a higher app that opens tasks or records events of its own
registers its renderers from its ``AppConfig.ready`` (feedback does), so this module never
imports an app above it. It imports no models either: the models call into it.

A renderer returns the text, or ``None`` when the row's data does not say enough (rows
written before the data was stored); the caller then shows the stored words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

logger = logging.getLogger(__name__)

TaskTitleRenderer = Callable[[Mapping[str, Any]], str | None]


class _Event(Protocol):
    kind: str
    data: dict
    summary: str


EventRenderer = Callable[[_Event], str | None]

_task_titles: dict[str, TaskTitleRenderer] = {}
_event_texts: dict[str, list[EventRenderer]] = {}

# What a renderer may raise on a row whose data is not what it expects (an old or
# hand-edited row): the page shows the stored words instead of failing.
_BAD_DATA = (KeyError, TypeError, ValueError, AttributeError)


def task_title_register(key: str, renderer: TaskTitleRenderer) -> None:
    """``renderer(params)`` writes the title of tasks whose ``title_key`` is ``key``."""
    _task_titles[key] = renderer


def event_text_register(kind: str, renderer: EventRenderer) -> None:
    """``renderer(event)`` writes the summary of events of ``kind``; several renderers
    of one kind are asked in the order they were registered, the first answer wins."""
    renderers = _event_texts.setdefault(kind, [])
    if renderer not in renderers:
        renderers.append(renderer)


def task_title_render(key: str, params: Mapping[str, Any]) -> str | None:
    """The title for ``key`` and ``params`` in the active language, or ``None``."""
    renderer = _task_titles.get(key)
    if renderer is None:
        return None
    try:
        return renderer(params)
    except _BAD_DATA:
        logger.warning("task title %r could not be written from %r", key, params)
        return None


TITLE_MAX_LENGTH = 300  # Task.title's max_length


def task_title_fields(key: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A new task's ``title_key``, ``title_params`` and the fallback ``title`` (in the
    active language, for search and for readers of a release without the renderer)."""
    if key not in _task_titles:
        raise LookupError(f"no renderer registered for task title {key!r}")
    params = dict(params)
    title = task_title_render(key, params) or ""
    return {"title_key": key, "title_params": params, "title": title[:TITLE_MAX_LENGTH]}


def task_title(task) -> str:
    """What the worklist, the card and the admin show as a task's title."""
    if task.title_key:
        text = task_title_render(task.title_key, task.title_params or {})
        if text is not None:
            return text
    return task.title


def event_text(event) -> str:
    """What the timeline shows as an event's summary."""
    for renderer in _event_texts.get(event.kind, ()):
        try:
            text = renderer(event)
        except _BAD_DATA:
            logger.warning("event %s of kind %r could not be written", event.pk, event.kind)
            text = None
        if text is not None:
            return text
    return event.summary
