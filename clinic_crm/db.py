"""SQL pieces more than one app uses."""

from __future__ import annotations

from collections.abc import Iterable


def values_sql(cursor, template: str, rows: Iterable[tuple]) -> str:
    """Rows quoted by psycopg2 for a ``VALUES`` list (``template`` such as
    ``"(%s::bigint, %s::date)"``), ready to go into a statement that still takes
    parameters: the quoted text's own ``%`` signs are doubled."""
    raw = cursor.cursor
    return b",".join(raw.mogrify(template, row) for row in rows).decode().replace("%", "%%")
