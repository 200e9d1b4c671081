"""The filters every dashboard figure follows: a period, and optionally a branch, a
doctor, a specialty and a stage kind."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.utils import timezone


@dataclass(frozen=True)
class Filters:
    start: date  # first day shown
    end: date  # last day shown (inclusive)
    branch_id: int | None = None
    doctor_id: int | None = None
    specialty_id: int | None = None
    stage_kind: str | None = None

    @property
    def by_cohort(self) -> bool:
        """Whether the nightly cohort figures can follow these filters: they are kept per
        month, branch and doctor, not per specialty or stage."""
        return self.specialty_id is None and self.stage_kind is None

    def where(self) -> tuple[str, dict[str, date | int | str]]:
        clauses = ["day >= %(start)s", "day < %(end)s"]
        params: dict[str, date | int | str] = {
            "start": self.start,
            "end": self.end + timedelta(days=1),
        }
        for name in ("branch_id", "doctor_id", "specialty_id", "stage_kind"):
            if getattr(self, name) is not None:
                clauses.append(f"{name} = %({name})s")
                params[name] = getattr(self, name)
        return " AND ".join(clauses), params


def this_week(filters: Filters) -> Filters:
    """The same filters over the last seven days, today included."""
    today = timezone.localdate()
    return replace(filters, start=today - timedelta(days=6), end=today)
