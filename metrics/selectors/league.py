"""The league tables of doctors and branches, ranked by NPS, small samples last."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from .. import formulas
from .figures import Totals

# A doctor's id (None: visits without one) or a branch's.
K = TypeVar("K", bound=int | None)


@dataclass
class LeagueRow:
    pk: int | None
    name: str
    totals: Totals
    nps: formulas.NpsFigure
    shown: bool  # at or above the minimum sample


def league_rows(
    groups: Mapping[K, Totals], names: Mapping[K, str], min_sample: int
) -> list[LeagueRow]:
    rows = [
        LeagueRow(
            pk=pk,
            name=names.get(pk, "—"),
            totals=totals,
            nps=totals.nps,
            shown=totals.nps.n >= min_sample,
        )
        for pk, totals in groups.items()
        if totals.responses or totals.visits_completed
    ]
    # Judged rows first, best NPS first; the too-small samples after them, by name.
    return sorted(rows, key=lambda r: (not r.shown, -(r.nps.value or 0) if r.shown else 0, r.name))
