"""Scores and the survey funnel by channel: answers by telephone, web link and the
clinic's tablet differ systematically (mobile-web scores run a few points below the
telephone's), so the dashboard reads them apart, with each channel's response rate."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from feedback.models import ResponseChannel, Survey

from .. import formulas
from .filters import Filters

_SQL = """
SELECT channel, survey_kind, sum(invited), sum(delivered), sum(opened), sum(answered),
       sum(responses), sum(promoters), sum(passives), sum(detractors)
FROM metrics_dailychannelrollup
WHERE {where}
GROUP BY channel, survey_kind
ORDER BY channel, survey_kind
"""


@dataclass(frozen=True)
class FunnelRow:
    """One channel (or one survey asked), its funnel and its scores."""

    key: str
    label: str
    invited: int
    delivered: int
    opened: int
    answered: int
    nps: formulas.NpsFigure
    response_rate: formulas.Figure  # answered / invited, with its interval
    share: float | None  # of all answers under the filters, %


@dataclass(frozen=True)
class ChannelFigures:
    channels: list[FunnelRow]
    surveys: list[FunnelRow]
    answers: int


def _row(key: str, label: str, c: list[int], total: int) -> FunnelRow:
    invited, delivered, opened, answered, responses, promoters, passives, detractors = c
    return FunnelRow(
        key=key,
        label=label,
        invited=invited,
        delivered=delivered,
        opened=opened,
        answered=answered,
        nps=formulas.nps(promoters, passives, detractors),
        response_rate=formulas.proportion(answered, invited) if invited else formulas.EMPTY,
        share=100.0 * responses / total if total else None,
    )


def channel_figures(filters: Filters) -> ChannelFigures:
    """Each channel's answers (mix, NPS) and funnel (invited → delivered → opened →
    answered, response rate with its Wilson interval), and the same per survey asked, from
    the daily channel rollup: one query, whatever the number of answers."""
    where, params = filters.where()
    with connection.cursor() as cursor:
        cursor.execute(_SQL.format(where=where), params)  # noqa: S608 - constants only
        rows = cursor.fetchall()
    by_channel: dict[str, list[int]] = {}
    by_survey: dict[str, list[int]] = {}
    for channel, kind, *counts in rows:
        for key, totals in ((channel, by_channel), (kind, by_survey)):
            summed = totals.setdefault(key, [0] * 8)
            for i, value in enumerate(counts):
                summed[i] += int(value or 0)
    total = sum(c[4] for c in by_channel.values())
    channel_labels = dict(ResponseChannel.choices)
    survey_labels = dict(Survey.Kind.choices)
    return ChannelFigures(
        channels=[
            _row(key, str(channel_labels.get(key, key)), c, total)
            for key, c in sorted(by_channel.items(), key=lambda item: -item[1][4])
        ],
        surveys=[
            _row(key, str(survey_labels.get(key, key)), c, total)
            for key, c in sorted(by_survey.items())
        ],
        answers=total,
    )
