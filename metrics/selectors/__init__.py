"""Reads for the dashboards, by responsibility:

- ``filters`` — the period and the branch, doctor, specialty and stage filters;
- ``figures`` — totals, weekly and monthly series and the league's groups from the
  rollups, two queries (:func:`dashboard_figures`);
- ``cohorts`` — the cohort metrics from the nightly snapshot;
- ``caching`` — those figures kept in the cache per version of the data;
- ``reasons`` — the reasons named most; ``recovery`` — open and overdue recovery calls;
- ``league`` — the doctors' and branches' league tables;
- ``dashboard`` — the manager dashboard's page; ``reports`` — staff reports and
  scorecards.

Every public name is importable from here as well.
"""

from .cohorts import AS_OF, cohort_figures
from .dashboard import LEAGUE_ROWS, AspectRow, DashboardPage, dashboard_page
from .figures import COUNTS, Figures, Totals, dashboard_figures
from .filters import Filters, this_week
from .league import LeagueRow
from .reasons import top_reasons
from .recovery import recovery_tasks
from .reports import ScoreRow, StaffReport, staff_report

__all__ = [
    "AS_OF",
    "COUNTS",
    "LEAGUE_ROWS",
    "AspectRow",
    "DashboardPage",
    "Figures",
    "Filters",
    "LeagueRow",
    "ScoreRow",
    "StaffReport",
    "Totals",
    "cohort_figures",
    "dashboard_figures",
    "dashboard_page",
    "recovery_tasks",
    "staff_report",
    "this_week",
    "top_reasons",
]
