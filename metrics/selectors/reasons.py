"""The reasons patients name most in their answers (the reason rollups)."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import get_language

from feedback.models import ReasonTag

from ..rollups import raw_reasons_sql
from .filters import Filters

_REASONS = """
SELECT t.name, t.name_en, sum(x.answers) AS n
FROM {source} x JOIN feedback_reasontag t ON t.id = x.reason_id
WHERE {where}
GROUP BY t.id, t.name, t.name_en
ORDER BY n DESC, t.name
LIMIT %(limit)s
"""


def top_reasons(
    filters: Filters, *, limit: int = 5, source: str = "rollups"
) -> list[tuple[str, int]]:
    """The reasons named most in the filtered answers, in the reader's language, with
    how many answers named each: one query on the reason rollups (``source="raw"``: on
    the answers themselves)."""
    where, params = filters.where()
    if source == "rollups":
        table = "metrics_dailyreasonrollup"
    elif source == "raw":
        table = f"({raw_reasons_sql()})"
    else:
        raise ValueError(f"unknown source {source!r}")
    language = get_language() or ""
    with connection.cursor() as cursor:
        cursor.execute(_REASONS.format(source=table, where=where), params | {"limit": limit})
        return [
            (ReasonTag(name=name, name_en=name_en).label(language[:2]), n)
            for name, name_en, n in cursor.fetchall()
        ]
