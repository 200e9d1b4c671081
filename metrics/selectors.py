"""Reads for the dashboards.

:func:`dashboard_figures` computes everything a dashboard shows for a period and filters
— the totals, the weekly and the monthly series, the doctors' and branches' league — in
two queries (counts, then aspect answers), each one scan with GROUPING SETS. It reads the
rollup tables; with ``source="raw"`` the very same aggregation runs over the rows
computed straight from visits and responses, which is what a dashboard without rollups
would do on every page load (the benchmark's naive side, and the property test's
reference).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from clinic_crm.staff.models import User
from feedback.models import CSI_SCALE_MAX, CsiAttribute, ReasonTag, Response
from journeys.models import Branch, Task

from . import formulas
from .models import CohortFigure, MetricsSettings, RollupState
from .rollups import raw_reasons_sql, raw_rows_sql
from .trend import AUTO, Trend, nps_trend

T = TypeVar("T")


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

    def where(self) -> tuple[str, dict]:
        clauses = ["day >= %(start)s", "day < %(end)s"]
        params: dict = {"start": self.start, "end": self.end + timedelta(days=1)}
        for name in ("branch_id", "doctor_id", "specialty_id", "stage_kind"):
            if getattr(self, name) is not None:
                clauses.append(f"{name} = %({name})s")
                params[name] = getattr(self, name)
        return " AND ".join(clauses), params


@dataclass
class Totals:
    visits_completed: int = 0
    visits_no_show: int = 0
    visits_cancelled: int = 0
    revenue: Decimal = Decimal(0)
    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    csi_responses: int = 0
    negative: int = 0
    negative_contacted_in_time: int = 0
    # aspect id → (answers, total, total_sq)
    attributes: dict = field(default_factory=dict)

    @property
    def nps(self) -> formulas.NpsFigure:
        return formulas.nps(self.promoters, self.passives, self.detractors)

    @property
    def no_show_rate(self) -> formulas.Figure:
        return formulas.no_show_rate(self.visits_no_show, self.visits_completed)

    @property
    def contacted_within_sla(self) -> formulas.Figure:
        return formulas.contacted_within_sla(self.negative_contacted_in_time, self.negative)

    def csi(self, weights: dict[int, float], scale_max: int) -> formulas.Figure:
        return formulas.csi(
            [
                formulas.AttributeTotals(str(pk), weights.get(pk, 0), *self.attributes[pk])
                for pk in sorted(self.attributes)
            ],
            scale_max,
            self.csi_responses,
        )


COUNTS = [f.name for f in fields(Totals) if f.name != "attributes"]


@dataclass
class Figures:
    totals: Totals = field(default_factory=Totals)
    weeks: dict[date, Totals] = field(default_factory=dict)  # a Monday → its totals
    months: dict[date, Totals] = field(default_factory=dict)  # a month's first day → …
    doctors: dict[int | None, Totals] = field(default_factory=dict)
    branches: dict[int, Totals] = field(default_factory=dict)


# A period rollup's bucket lies inside one week and one month, so both series come from
# its first day as from a daily row's day.
_FIGURES = """
SELECT GROUPING(week) AS g_week, GROUPING(month) AS g_month, GROUPING(doctor_id) AS g_doctor,
       GROUPING(branch_id) AS g_branch, week, month, doctor_id, branch_id, {sums}
FROM (SELECT date_trunc('week', day)::date AS week, date_trunc('month', day)::date AS month,
             x.* FROM {source} x WHERE {where}) y
GROUP BY GROUPING SETS ((), (week), (month), (doctor_id), (branch_id))
"""

_ASPECTS = """
SELECT GROUPING(doctor_id) AS g_doctor, GROUPING(branch_id) AS g_branch,
       attribute_id, doctor_id, branch_id, sum(answers), sum(total), sum(total_sq)
FROM {source} x WHERE {where}
GROUP BY GROUPING SETS ((attribute_id), (attribute_id, doctor_id), (attribute_id, branch_id))
"""


_GROUP_COLUMNS = "day, branch_id, doctor_id, specialty_id, stage_kind"


def _boundary_on_or_after(day: date) -> date:
    """The first bucket boundary (a Monday or a month's first day) on or after ``day``."""
    monday = day + timedelta(days=-day.weekday() % 7)
    first = day if day.day == 1 else (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return min(monday, first)


def _boundary_on_or_before(day: date) -> date:
    return max(day - timedelta(days=day.weekday()), day.replace(day=1))


def _rollup_sources(filters: Filters) -> tuple[str, str, dict]:
    """Whole buckets inside the period from the period rollups, the days at its edges
    from the daily ones."""
    start, end = filters.start, filters.end + timedelta(days=1)
    full_from, full_to = _boundary_on_or_after(start), _boundary_on_or_before(end)
    if full_from >= full_to:
        return "metrics_dailyrollup", "metrics_dailyattributerollup", {}
    counts = ", ".join(COUNTS)
    aspects = "attribute_id, answers, total, total_sq"
    # Each part a plain day range, so that each reads only its days from the day index
    # (an OR of the two edges would make PostgreSQL read the whole period's daily rows).
    inside = "day >= %(full_from)s AND day < %(full_to)s"
    before = "day >= %(start)s AND day < %(full_from)s"
    after = "day >= %(full_to)s AND day < %(end)s"

    def union(period_table: str, daily_table: str, columns: str) -> str:
        return (
            f"(SELECT {_GROUP_COLUMNS}, {columns} FROM {period_table} WHERE {inside}"  # noqa: S608
            f" UNION ALL SELECT {_GROUP_COLUMNS}, {columns} FROM {daily_table} WHERE {before}"
            f" UNION ALL SELECT {_GROUP_COLUMNS}, {columns} FROM {daily_table} WHERE {after})"
        )

    return (
        union("metrics_periodrollup", "metrics_dailyrollup", counts),
        union("metrics_periodattributerollup", "metrics_dailyattributerollup", aspects),
        {"full_from": full_from, "full_to": full_to},
    )


def dashboard_figures(filters: Filters, *, source: str = "rollups") -> Figures:
    """Totals, the series by week and by month, and the league by doctor and by branch,
    for the filters. Two queries whatever the data size."""
    where, params = filters.where()
    if source == "rollups":
        counts_source, aspects_source, extra = _rollup_sources(filters)
        params |= extra
    elif source == "raw":
        raw_counts, raw_aspects = raw_rows_sql()
        counts_source, aspects_source = f"({raw_counts})", f"({raw_aspects})"
    else:
        raise ValueError(f"unknown source {source!r}")
    figures = Figures()
    sums = ", ".join(f"sum({name})" for name in COUNTS)
    with connection.cursor() as cursor:
        cursor.execute(
            _FIGURES.format(sums=sums, source=counts_source, where=where),
            params,
        )
        for row in cursor.fetchall():
            g_week, g_month, g_doctor, g_branch, week, month, doctor, branch, *values = row
            totals = Totals(**{n: v or 0 for n, v in zip(COUNTS, values, strict=True)})
            if not g_week:
                figures.weeks[week] = totals
            elif not g_month:
                figures.months[month] = totals
            elif not g_doctor:
                figures.doctors[doctor] = totals
            elif not g_branch:
                figures.branches[branch] = totals
            else:
                figures.totals = totals
        cursor.execute(_ASPECTS.format(source=aspects_source, where=where), params)
        for (
            g_doctor,
            g_branch,
            aspect,
            doctor,
            branch,
            answers,
            total,
            total_sq,
        ) in cursor.fetchall():
            if not g_doctor:
                group = figures.doctors.setdefault(doctor, Totals())
            elif not g_branch:
                group = figures.branches.setdefault(branch, Totals())
            else:
                group = figures.totals
            group.attributes[aspect] = (answers, total, total_sq)
    return figures


def _remembered(kind: str, version, key: tuple, compute: Callable[[], T]) -> T:
    """What ``compute`` returns for ``key``, kept in the cache until what it reads
    changes: ``version`` is that data's (RollupState.version for the rollups,
    cohorts_version for the cohort figures), renewed by every transaction that writes
    it, so a kept value is never older than the data it was computed from. Without a
    version (nothing written yet), with METRICS_CACHE_SECONDS=0 or with the cache down,
    it is computed every time."""
    seconds = settings.METRICS_CACHE_SECONDS
    if version is None or seconds <= 0:
        return compute()
    name = f"metrics:{kind}:{version}:" + ":".join(map(str, key))
    try:
        hit = cache.get(name)
    except RedisError:
        return compute()
    if hit is not None:
        return hit
    value = compute()
    try:
        cache.set(name, value, seconds)
    except RedisError:
        pass
    return value


# Snapshots "as of today" rather than counts per month: shown whatever the period.
AS_OF = ("dormant", "reactivated")
_SHARES = {
    "return": formulas.return_rate,
    "completion": formulas.proportion,
    "dormant": formulas.dormant_share,
    "reactivated": formulas.reactivated_share,
    "recovery_return": formulas.recovered_return,
    "handoff": formulas.handoff_conversion,
    "funnel_accepted": formulas.proportion,
    "funnel_completed": formulas.proportion,
}
_MEANS = ("visits", "clv", "first_contact", "resurvey")


def cohort_figures(filters: Filters) -> dict[str, formulas.Figure]:
    """The cohort metrics for the months the period touches (the snapshot's latest month
    for the "as of today" ones), with the branch and doctor filters (the snapshot has no
    specialty or stage): two queries."""
    rows = CohortFigure.objects.all()
    if filters.branch_id is not None:
        rows = rows.filter(branch_id=filters.branch_id)
    if filters.doctor_id is not None:
        rows = rows.filter(doctor_id=filters.doctor_id)
    latest = CohortFigure.objects.filter(metric__in=AS_OF).aggregate(m=Max("month"))["m"]
    in_period = Q(month__gte=filters.start.replace(day=1), month__lte=filters.end) & ~Q(
        metric__in=AS_OF
    )
    sums = (
        rows.filter(in_period | Q(metric__in=AS_OF, month=latest))
        .values("metric")
        .annotate(hits=Sum("hits"), n=Sum("n"), total=Sum("total"), total_sq=Sum("total_sq"))
    )
    found = {row["metric"]: row for row in sums}
    result = {}
    for metric in CohortFigure.Metric.values:
        row = found.get(metric, {"hits": 0, "n": 0, "total": 0, "total_sq": 0})
        if metric in _MEANS:
            result[metric] = formulas.mean(row["total"], row["total_sq"], row["n"])
        else:
            result[metric] = _SHARES[metric](row["hits"], row["n"])
    return result


def _kept_figures(
    filters: Filters, state: RollupState | None
) -> tuple[Figures, dict[str, formulas.Figure]]:
    """The rollup figures and cohort figures for the filters, each computed once per
    version of what it is computed from (two queries each when computed, none when
    kept): the cohort figures change only with the nightly snapshot. Under a specialty
    or stage filter, which the snapshot is not kept by, the cohort figures are empty
    rather than the unfiltered ones."""
    figures = _remembered(
        "figures",
        state and state.version,
        astuple(filters),
        lambda: dashboard_figures(filters),
    )
    if not filters.by_cohort:
        return figures, dict.fromkeys(CohortFigure.Metric.values, formulas.EMPTY)
    cohorts = _remembered(
        "cohorts",
        state and state.cohorts_version,
        (filters.start, filters.end, filters.branch_id, filters.doctor_id),  # what it reads
        lambda: cohort_figures(filters),
    )
    return figures, cohorts


# --- The manager dashboard's page data ---------------------------------------------------


@dataclass
class LeagueRow:
    pk: int | None
    name: str
    totals: Totals
    nps: formulas.NpsFigure
    shown: bool  # at or above the minimum sample


@dataclass
class AspectRow:
    key: str
    name: str
    importance: float
    satisfaction: formulas.Figure
    place: str = ""


@dataclass
class DashboardPage:
    filters: Filters
    period: str  # the series asked for: "auto", "week" or "month"
    figures: Figures
    trend: Trend
    cohorts: dict
    csi: formulas.Figure
    aspects: list
    doctors: list
    doctors_more: int  # ranked doctors beyond the ones listed
    branches: list
    reasons: list
    recovery_open: int
    recovery_overdue: int
    min_sample: int
    as_of: object
    cohorts_as_of: object


def _aspects() -> tuple[dict, dict[int, float]]:
    """The CSI aspects by id, and their importance weights."""
    attributes = {a.pk: a for a in CsiAttribute.objects.all()}
    return attributes, {pk: float(a.importance) for pk, a in attributes.items()}


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


def this_week(filters: Filters) -> Filters:
    """The same filters over the last seven days, today included."""
    today = timezone.localdate()
    return replace(filters, start=today - timedelta(days=6), end=today)


def _rollup_state() -> tuple[RollupState | None, object]:
    """The rollups' state row and their "as of": the later of the last rebuild and the
    last refresh."""
    state = RollupState.objects.filter(pk=1).first()
    times = [t for t in (state and state.rebuilt_at, state and state.refreshed_at) if t]
    return state, max(times, default=None)


# The league lists the best-ranked doctors; a branch filter shows that branch's whole team.
LEAGUE_ROWS = 20


def _league(groups: dict, names: dict, min_sample: int) -> list[LeagueRow]:
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


def recovery_tasks(filters: Filters, *, now: datetime | None = None) -> dict[str, int]:
    """The recovery calls still open, and how many of them are overdue, for the negative
    answers the filters select (their day in the period, their branch, doctor, specialty
    and stage). Open and overdue are states of now; which tasks count follows the page's
    filters like every other figure. One query: the few open tasks from the partial index
    ``task_open_kind_due``, each looked up in its answers by ``recovery_task`` (EXISTS,
    so a task that two answers of one visit share counts once)."""
    answers = Response.objects.filter(
        recovery_task=OuterRef("pk"), day__gte=filters.start, day__lte=filters.end
    )
    for name in ("branch_id", "doctor_id", "specialty_id", "stage_kind"):
        if getattr(filters, name) is not None:
            answers = answers.filter(**{name: getattr(filters, name)})
    return Task.objects.filter(
        Exists(answers), kind=Task.Kind.NEGATIVE_FEEDBACK, state__in=Task.OPEN_STATES
    ).aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now or timezone.now())))


def dashboard_page(
    filters: Filters, *, period: str = AUTO, all_doctors: bool = False
) -> DashboardPage:
    """Everything the manager dashboard shows, from rollups (this week's reasons too)
    and snapshots, with one live count (open and overdue recovery tasks, a state of now):
    a fixed number of queries whatever the data size. ``period`` is the NPS trend's
    bucket: "week", "month", or "auto" to choose by how many answers there are."""
    config = MetricsSettings.current()
    state, as_of = _rollup_state()
    figures, cohorts = _kept_figures(filters, state)
    attributes, weights = _aspects()
    scale = CSI_SCALE_MAX
    aspects = [
        AspectRow(
            key=attributes[pk].key,
            name=attributes[pk].name,
            importance=weights[pk],
            satisfaction=formulas.attribute_satisfaction(
                formulas.AttributeTotals(str(pk), weights[pk], *counts), scale
            ),
        )
        for pk, counts in sorted(figures.totals.attributes.items())
        if pk in attributes
    ]
    places = formulas.importance_satisfaction_quadrant(
        [(a.key, a.importance, a.satisfaction.value) for a in aspects if not a.satisfaction.empty]
    )
    for aspect in aspects:
        aspect.place = places.get(aspect.key, "")
    doctor_names = {
        pk: User.name_of(*names)
        for pk, *names in User.objects.filter(
            pk__in=[pk for pk in figures.doctors if pk]
        ).values_list("pk", *User.NAME_COLUMNS)
    }
    branch_names = dict(
        Branch.objects.filter(pk__in=list(figures.branches)).values_list("pk", "name")
    )
    recovery = recovery_tasks(filters)
    doctors = _league(figures.doctors, doctor_names, config.min_sample)
    return DashboardPage(
        filters=filters,
        period=period,
        figures=figures,
        trend=nps_trend(
            start=filters.start,
            end=filters.end,
            weeks={day: totals.nps for day, totals in figures.weeks.items()},
            months={day: totals.nps for day, totals in figures.months.items()},
            bucket=period,
            min_sample=settings.METRICS_TREND_MIN_SAMPLE,
        ),
        cohorts=cohorts,
        csi=figures.totals.csi(weights, scale),
        aspects=aspects,
        doctors=doctors if all_doctors else doctors[:LEAGUE_ROWS],
        doctors_more=0 if all_doctors else max(len(doctors) - LEAGUE_ROWS, 0),
        branches=_league(figures.branches, branch_names, config.min_sample),
        reasons=top_reasons(this_week(filters)),
        recovery_open=recovery["open"],
        recovery_overdue=recovery["overdue"],
        min_sample=config.min_sample,
        as_of=as_of,
        cohorts_as_of=state.cohorts_at if state else None,
    )


# --- Reports every staff member reads, and personal scorecards ---------------------------


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
    cohorts: dict
    csi: formulas.Figure
    reasons: list
    scorecard: list  # ScoreRow
    scorecard_kind: str  # "doctor", "curator" or ""
    min_sample: int
    as_of: object


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


def staff_report(user, filters: Filters) -> StaffReport:
    """The branch's figures for anyone on its staff (no one else's personal figures),
    and the reader's own scorecard against the branch: a doctor's from the rollups with
    a doctor filter, a curator's from their tasks."""
    branch_id = getattr(getattr(user, "profile", None), "branch_id", None)
    branch_filters = Filters(start=filters.start, end=filters.end, branch_id=branch_id)
    state, as_of = _rollup_state()
    figures, cohorts = _kept_figures(branch_filters, state)
    _attributes, weights = _aspects()
    totals = figures.totals
    scorecard, kind = [], ""
    if user.has_role("doctor"):
        kind = "doctor"
        mine_filters = Filters(start=filters.start, end=filters.end, doctor_id=user.pk)
        my_figures, my_cohorts = _kept_figures(mine_filters, state)
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
        mine = _curator_figures(user.pk, filters)
        scorecard = [
            ScoreRow(
                _("Unhappy patients called back within 24 h"),
                mine["recovery"],
                totals.contacted_within_sla,
                " %",
                0,
            ),
            ScoreRow(
                _("Stalled journeys brought back on track"),
                mine["stalled"],
                formulas.EMPTY,
                " %",
                0,
            ),
        ]
    return StaffReport(
        filters=branch_filters,
        branch_name=Branch.objects.filter(pk=branch_id).values_list("name", flat=True).first()
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
