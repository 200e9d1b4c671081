"""Reports every staff member reads, and personal scorecards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from clinic_crm.catalogue.models import Branch
from feedback.models import CSI_SCALE_MAX
from journeys.models import Task

from .. import formulas
from ..models import MetricsSettings
from .caching import kept_figures, rollup_state
from .figures import Figures, csi_aspects
from .filters import Filters, this_week
from .reasons import top_reasons

if TYPE_CHECKING:
    from clinic_crm.staff.models import User


@dataclass
class ScoreRow:
    label: str
    mine: formulas.Figure
    branch: formulas.Figure
    unit: str
    digits: int


@dataclass
class StaffReport:
    filters: Filters  # the branch's
    branch_name: str
    figures: Figures
    cohorts: dict[str, formulas.Figure]
    csi: formulas.Figure
    reasons: list[tuple[str, int]]  # (reason, answers naming it)
    scorecard: list[ScoreRow]
    scorecard_kind: str  # "doctor", "curator" or ""
    min_sample: int
    as_of: datetime | None


def _curator_figures(user_id: int, filters: Filters) -> dict[str, formulas.Figure]:
    """A curator's own recovery calls and stalled journeys in the period: from the tasks
    assigned to them (one query, on the worklist index)."""
    start = datetime.combine(filters.start, time.min, tzinfo=UTC) - timedelta(hours=14)
    end = datetime.combine(filters.end, time.max, tzinfo=UTC) + timedelta(hours=14)
    counts = Task.objects.filter(
        assignee_id=user_id,
        kind__in=[Task.Kind.NEGATIVE_FEEDBACK, Task.Kind.STALLED_JOURNEY],
        due_at__range=(start, end),
    ).aggregate(
        recovery=Count("id", filter=Q(kind=Task.Kind.NEGATIVE_FEEDBACK)),
        in_time=Count(
            "id",
            filter=Q(
                kind=Task.Kind.NEGATIVE_FEEDBACK, state=Task.State.DONE, closed_at__lte=F("due_at")
            ),
        ),
        stalled=Count("id", filter=Q(kind=Task.Kind.STALLED_JOURNEY)),
        stalled_closed=Count("id", filter=Q(kind=Task.Kind.STALLED_JOURNEY, state=Task.State.DONE)),
    )
    return {
        "recovery": formulas.contacted_within_sla(counts["in_time"], counts["recovery"]),
        "stalled": formulas.proportion(counts["stalled_closed"], counts["stalled"]),
    }


def staff_report(user: User, filters: Filters) -> StaffReport:
    """The branch's figures for anyone on its staff (no one else's personal figures),
    and the reader's own scorecard against the branch: a doctor's from the rollups with
    a doctor filter, a curator's from their tasks."""
    branch_id: int | None = getattr(getattr(user, "profile", None), "branch_id", None)
    branch_filters = Filters(start=filters.start, end=filters.end, branch_id=branch_id)
    state, as_of = rollup_state()
    figures, cohorts = kept_figures(branch_filters, state)
    _attributes, weights = csi_aspects()
    totals = figures.totals
    scorecard: list[ScoreRow] = []
    kind = ""
    if user.has_role("doctor"):
        kind = "doctor"
        mine_filters = Filters(start=filters.start, end=filters.end, doctor_id=user.pk)
        my_figures, my_cohorts = kept_figures(mine_filters, state)
        mine = my_figures.totals
        scorecard = [
            ScoreRow("NPS", mine.nps, totals.nps, "", 0),
            ScoreRow(
                "CSI", mine.csi(weights, CSI_SCALE_MAX), totals.csi(weights, CSI_SCALE_MAX), " %", 1
            ),
            ScoreRow(_("No-show rate"), mine.no_show_rate, totals.no_show_rate, " %", 1),
            ScoreRow(_("Return rate"), my_cohorts["return"], cohorts["return"], " %", 0),
            ScoreRow(_("Handoff conversion"), my_cohorts["handoff"], cohorts["handoff"], " %", 0),
        ]
    elif user.has_role("curator"):
        kind = "curator"
        my_tasks = _curator_figures(user.pk, filters)
        scorecard = [
            ScoreRow(
                _("Unhappy patients called back within 24 h"),
                my_tasks["recovery"],
                totals.contacted_within_sla,
                " %",
                0,
            ),
            ScoreRow(
                _("Stalled journeys brought back on track"),
                my_tasks["stalled"],
                formulas.EMPTY,
                " %",
                0,
            ),
        ]
    return StaffReport(
        filters=branch_filters,
        # Without a branch, filter(pk=None) is Django's IS NULL match (no row, so "All
        # branches"); django-stubs' lookup check wants a str or int.
        branch_name=Branch.objects.filter(pk=branch_id).values_list("name", flat=True).first()  # type: ignore[misc]
        or _("All branches"),
        figures=figures,
        cohorts=cohorts,
        csi=totals.csi(weights, CSI_SCALE_MAX),
        reasons=top_reasons(this_week(branch_filters)),
        scorecard=scorecard,
        scorecard_kind=kind,
        min_sample=MetricsSettings.current().min_sample,
        as_of=as_of,
    )
