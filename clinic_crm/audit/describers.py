"""Naming audited records as a person recognises them.

The audit log stores only a record's model label and id ("journeys.Visit", "69"); the
page shows "Иванов И. И. — visit 12.03.2026 10:00, Consultation". The audit app knows no
model above the core, so each app registers, from its ``AppConfig.ready``, a describer
for its own models: a function given the ids of one model that returns ``{id: text}``,
with one query whatever the number of ids. A record that is gone is left out of the
answer; the page then shows its label and id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from django.apps import apps

Describer = Callable[[list[str]], dict[str, str]]

_describers: dict[str, Describer] = {}


def register_describer(model_label: str, describe: Describer) -> None:
    """``describe(ids)`` names the records of ``model_label`` (e.g. "journeys.Visit")."""
    _describers[model_label] = describe


def describable_types() -> list[tuple[str, str]]:
    """(label, the model's verbose name) of every model with a describer, by name."""
    types = []
    for label in _describers:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        types.append((label, str(model._meta.verbose_name).capitalize()))
    return sorted(types, key=lambda pair: pair[1])


def int_ids(ids: Iterable[str]) -> list[int]:
    """The ids that are whole numbers (every model here has integer keys)."""
    return [int(pk) for pk in ids if str(pk).isdigit()]


def describe_records(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Names for (model label, id) pairs: one describer call per model."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for label, pk in pairs:
        if label and pk and label in _describers:
            by_type[label].add(str(pk))
    names: dict[tuple[str, str], str] = {}
    for label, ids in by_type.items():
        for pk, text in _describers[label](sorted(ids)).items():
            names[(label, str(pk))] = text
    return names
