"""The dashboard as CSV rows: what the page shows, as numbers a spreadsheet can take.
Figures hidden on the page (below the minimum sample) stay hidden here. Figures are
numbers (``Decimal``, ``int``), names are text: ``clinic_crm.csv_export`` writes them,
neutralising text that a spreadsheet would run as a formula."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from django.utils.translation import gettext as _

from . import formulas
from .models import CohortFigure
from .selectors import DashboardPage

HEADER = ["section", "name", "value", "n", "low_95", "high_95"]


def _number(value) -> Decimal | str:
    return "" if value is None else Decimal(f"{value:.2f}")


def _figure(section: str, name: str, figure: formulas.Figure) -> list:
    return [
        section,
        name,
        _number(figure.value),
        figure.n,
        _number(figure.low),
        _number(figure.high),
    ]


def dashboard_rows(page: DashboardPage) -> Iterator[list]:
    yield HEADER
    totals = page.figures.totals
    yield [
        "period",
        f"{page.filters.start.isoformat()} – {page.filters.end.isoformat()}",
        "",
        "",
        "",
        "",
    ]
    yield _figure("figure", "NPS", totals.nps)
    yield _figure("figure", "CSI, %", page.csi)
    yield _figure("figure", _("No-show rate") + ", %", totals.no_show_rate)
    yield _figure(
        "figure", _("Negative answers called back within 24 h") + ", %", totals.contacted_within_sla
    )
    labels = dict(CohortFigure.Metric.choices)
    for metric, figure in page.cohorts.items():
        yield _figure("figure", str(labels[metric]), figure)
    for point in page.trend.points:  # below the trend's minimum sample: the count only
        figure = point.nps if point.shown else formulas.Figure(None, point.nps.n)
        yield _figure(f"nps_{page.trend.bucket}", point.start.isoformat(), figure)
    for aspect in page.aspects:
        yield _figure("csi_aspect", aspect.name, aspect.satisfaction)
    for section, rows in (("doctor_nps", page.doctors), ("branch_nps", page.branches)):
        for row in rows:
            yield _figure(
                section, row.name, row.nps if row.shown else formulas.Figure(None, row.nps.n)
            )
    for name, count in page.reasons:
        yield ["reason_this_week", name, count, "", "", ""]
