"""Feedback's own task titles and journey-event summaries, written in the reader's
language (registered with journeys.texts from ``FeedbackConfig.ready``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from clinic_crm.staff.templatetags.when import when
from feedback.models import CSI_SCALE_MAX
from journeys import texts
from journeys.models import JourneyEvent

RECOVERY_CALL = "recovery_call"  # Task.title_key of the recovery loop's task


def _recovery_call(params: Mapping[str, Any]) -> str:
    return _("Call the patient within 24 hours: unhappy with the visit of %(when)s") % {
        "when": when(datetime.fromisoformat(params["when"]))
    }


def attribute_names(attribute) -> dict[str, str]:
    """An aspect's name in each language, as an event stores it."""
    return {"ru": attribute.name, "en": attribute.name_en or attribute.name}


def _response_summary(event) -> str | None:
    """“Negative feedback: would recommend: 3 of 10; Waiting time: 2/5”. Rows written
    before the verdict and the aspects' names were stored fall back to their words."""
    data = event.data
    if "response" not in data or "negative" not in data:
        return None
    answers: dict[str, int] = data.get("answers") or {}
    names: dict[str, dict[str, str]] = data.get("attribute_names") or {}
    if any(key not in names for key in answers):
        return None
    nps = data.get("nps")
    language = "en" if (get_language() or "").startswith("en") else "ru"
    parts = []
    if nps is not None:
        parts.append(_("would recommend: %(score)s of 10") % {"score": nps})
    parts += [
        f"{names[key].get(language) or names[key].get('ru', key)}: {score}/{CSI_SCALE_MAX}"
        for key, score in answers.items()
    ]
    label = _("Negative feedback") if data["negative"] else _("Feedback")
    return f"{label}: {'; '.join(parts)}" if parts else label


def register() -> None:
    texts.task_title_register(RECOVERY_CALL, _recovery_call)
    texts.event_text_register(JourneyEvent.Kind.FEEDBACK, _response_summary)
