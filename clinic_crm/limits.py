"""How long free text may be, in one place: forms show the limit, services enforce it
(for every caller: pages, the API, tasks), and nothing longer reaches the database."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .forms import has_control_characters

NOTE = 4000  # a journey note, a handover note
REASON = 1000  # why a plan is abandoned, a handoff, a visit cancelled
OUTCOME = 2000  # what came of a task
PURPOSE = 2000  # a stage's purpose, an option's expected result
SHORT = 300


def text_problem(value: str, *, limit: int) -> str | None:
    """Why ``value`` can't be stored as free text, or None."""
    if has_control_characters(value):
        return _("The text contains invisible control characters; remove them and send again.")
    if len(value) > limit:
        return _("The text is too long: %(length)s characters, at most %(limit)s.") % {
            "length": len(value),
            "limit": limit,
        }
    return None
