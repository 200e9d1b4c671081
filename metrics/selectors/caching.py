"""The figures of a page load kept in the cache until what they are computed from
changes, and the rollups' state that says when that is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from .. import formulas
from ..models import CohortFigure, RollupState
from .cohorts import cohort_figures
from .figures import Figures, dashboard_figures
from .filters import Filters

T = TypeVar("T")


def remembered(
    kind: str, version: UUID | None, key: tuple[object, ...], compute: Callable[[], T]
) -> T:
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
        # The name holds the kind, the version and the key: what is kept under it is
        # what this very ``compute`` returned for them.
        return cast(T, hit)
    value = compute()
    try:
        cache.set(name, value, seconds)
    except RedisError:
        pass
    return value


def kept_figures(
    filters: Filters, state: RollupState | None
) -> tuple[Figures, dict[str, formulas.Figure]]:
    """The rollup figures and cohort figures for the filters, each computed once per
    version of what it is computed from (two queries each when computed, none when
    kept): the cohort figures change only with the nightly snapshot. Under a specialty
    or stage filter, which the snapshot is not kept by, the cohort figures are empty
    rather than the unfiltered ones."""
    figures = remembered(
        "figures",
        state.version if state is not None else None,
        astuple(filters),
        lambda: dashboard_figures(filters),
    )
    if not filters.by_cohort:
        return figures, dict.fromkeys(CohortFigure.Metric.values, formulas.EMPTY)
    cohorts = remembered(
        "cohorts",
        state.cohorts_version if state is not None else None,
        (filters.start, filters.end, filters.branch_id, filters.doctor_id),  # what it reads
        lambda: cohort_figures(filters),
    )
    return figures, cohorts


def rollup_state() -> tuple[RollupState | None, datetime | None]:
    """The rollups' state row and their "as of": the later of the last rebuild and the
    last refresh."""
    state = RollupState.objects.filter(pk=1).first()
    times = [t for t in (state and state.rebuilt_at, state and state.refreshed_at) if t]
    return state, max(times, default=None)
