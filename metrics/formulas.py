"""The loyalty metrics: one function per formula, the formula in its docstring.

Every function takes counts and sums (what the rollups hold), never rows, so that the
dashboards (from rollups), the direct computation over raw rows (the benchmark's naive
side and the property test) and the unit tests (hand-worked numbers) all go through the
same arithmetic.

Each result is a :class:`Figure`: the value, the sample it stands on, and a 95 % interval
where one makes sense. A figure with no sample has no value (``None``), never 0 — "no
answers" is not "everybody unhappy". :func:`judged` hides a figure below the clinic's
minimum sample, so that no doctor is judged on five answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95 % quantile of the normal distribution


@dataclass(frozen=True)
class Figure:
    """A metric's value with its sample size and 95 % interval (``low``–``high``)."""

    value: float | None
    n: int
    low: float | None = None
    high: float | None = None

    @property
    def empty(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class NpsFigure(Figure):
    promoters: float | None = None  # shares in %, summing to 100
    passives: float | None = None
    detractors: float | None = None


EMPTY = Figure(value=None, n=0)


def judged(figure: Figure, min_sample: int) -> Figure | None:
    """The figure if its sample is large enough to judge a person or a branch by,
    else None (the page says "fewer than N answers")."""
    return figure if figure.n >= max(min_sample, 1) and figure.value is not None else None


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


# --- NPS -------------------------------------------------------------------------------


def nps(promoters: int, passives: int, detractors: int) -> NpsFigure:
    """Net Promoter Score.

        NPS = % promoters (answers 9–10) − % detractors (answers 0–6), from −100 to +100,

    over n = promoters + passives + detractors answers. The interval is the adjusted Wald
    interval for NPS (Sauro & Lewis): with n' = n + 3, p' = (promoters + ¾) / n' and
    d' = (detractors + ¾) / n', the score counted as +1 / 0 / −1 has variance
    p' + d' − (p' − d')², and NPS' ± 1.96 · √(variance / n') · 100, clipped to ±100. The
    adjustment keeps the interval honest where the plain one collapses to a point (all
    promoters, a single answer).
    """
    n = promoters + passives + detractors
    if min(promoters, passives, detractors) < 0:
        raise ValueError("answer counts cannot be negative")
    if n == 0:
        return NpsFigure(value=None, n=0)
    value = 100.0 * (promoters - detractors) / n
    n_adj = n + 3
    p, d = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    centre = p - d
    margin = Z95 * math.sqrt(max(p + d - centre**2, 0.0) / n_adj)
    return NpsFigure(
        value=value,
        n=n,
        low=_clip(100.0 * (centre - margin), -100.0, 100.0),
        high=_clip(100.0 * (centre + margin), -100.0, 100.0),
        promoters=100.0 * promoters / n,
        passives=100.0 * passives / n,
        detractors=100.0 * detractors / n,
    )


# --- Means and proportions -------------------------------------------------------------


def mean(total: float, total_sq: float, n: int) -> Figure:
    """Mean = Σx / n, with the normal interval mean ± 1.96 · s / √n, where the sample
    variance s² = (Σx² − (Σx)² / n) / (n − 1). One observation: no interval."""
    if n <= 0:
        return EMPTY
    value = total / n
    if n == 1:
        return Figure(value=value, n=1)
    variance = max(total_sq - total * total / n, 0.0) / (n - 1)
    margin = Z95 * math.sqrt(variance / n)
    return Figure(value=value, n=n, low=value - margin, high=value + margin)


def proportion(hits: int, n: int) -> Figure:
    """Share = hits / n × 100 %, with the Wilson score interval

        (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n),   z = 1.96,

    which stays inside 0–100 % and is sensible for 0 or n hits and for small n."""
    if n <= 0:
        return EMPTY
    if not 0 <= hits <= n:
        raise ValueError(f"{hits} hits out of {n}")
    p = hits / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    margin = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Figure(
        value=100.0 * p,
        n=n,
        low=100.0 * max(centre - margin, 0.0),
        high=100.0 * min(centre + margin, 1.0),
    )


# --- CSI -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttributeTotals:
    """One CSI attribute's answers in a group: importance weight, how many answers, the
    sum and the sum of squares of the scores."""

    key: str
    weight: float
    count: int
    total: float
    total_sq: float


def attribute_satisfaction(totals: AttributeTotals, scale_max: int) -> Figure:
    """One attribute's satisfaction = mean score / s_max × 100 %, with the interval of
    the mean scaled the same way."""
    figure = mean(totals.total, totals.total_sq, totals.count)
    if figure.empty:
        return figure
    scale = 100.0 / scale_max
    return Figure(
        value=figure.value * scale,
        n=figure.n,
        low=None if figure.low is None else _clip(figure.low * scale, 0.0, 100.0),
        high=None if figure.high is None else _clip(figure.high * scale, 0.0, 100.0),
    )


def csi(attributes: Sequence[AttributeTotals], scale_max: int, responses: int) -> Figure:
    """Customer Satisfaction Index (weighted, SERVQUAL-style attributes).

        CSI = Σᵢ wᵢ·sᵢ / Σᵢ wᵢ·s_max × 100 %,

    over the attributes i that have answers, with importance wᵢ and mean satisfaction
    sᵢ = Σ scores / answers. An attribute nobody answered is left out of both sums (it
    neither raises nor lowers the index). ``responses`` — the surveys that answered at
    least one attribute — is the sample size. The interval treats the attribute means as
    independent: Var(CSI) = Σᵢ (wᵢ / (W·s_max))² · varᵢ / countᵢ × 100², with W = Σ wᵢ
    and varᵢ the sample variance of attribute i's scores.
    """
    answered = [a for a in attributes if a.count > 0 and a.weight > 0]
    if not answered or responses <= 0:
        return Figure(value=None, n=max(responses, 0))
    weight_sum = sum(a.weight for a in answered)
    value = 100.0 * sum(a.weight * a.total / a.count for a in answered) / (weight_sum * scale_max)
    variance = 0.0
    for a in answered:
        if a.count > 1:
            sample_var = max(a.total_sq - a.total * a.total / a.count, 0.0) / (a.count - 1)
            variance += (a.weight / (weight_sum * scale_max)) ** 2 * sample_var / a.count
    if all(a.count <= 1 for a in answered):
        return Figure(value=value, n=responses)
    margin = 100.0 * Z95 * math.sqrt(variance)
    return Figure(
        value=value,
        n=responses,
        low=_clip(value - margin, 0.0, 100.0),
        high=_clip(value + margin, 0.0, 100.0),
    )


def importance_satisfaction_quadrant(
    attributes: Sequence[tuple[str, float, float]],
) -> dict[str, str]:
    """Places each (key, importance, satisfaction %) in a quadrant split at the mean
    importance and the mean satisfaction of the attributes shown:

    - "fix_first": important and below-average satisfaction — where to act first;
    - "keep_up": important and satisfying;
    - "secondary": less important, less satisfying;
    - "surplus": less important but satisfying (effort that may be spent elsewhere).
    """
    if not attributes:
        return {}
    mean_importance = sum(a[1] for a in attributes) / len(attributes)
    mean_satisfaction = sum(a[2] for a in attributes) / len(attributes)
    places = {}
    for key, importance, satisfaction in attributes:
        important = importance >= mean_importance
        satisfied = satisfaction >= mean_satisfaction
        places[key] = (
            ("keep_up" if satisfied else "fix_first")
            if important
            else ("surplus" if satisfied else "secondary")
        )
    return places


# --- Visits, journeys, patients --------------------------------------------------------


def return_rate(returned: int, first_visit_patients: int) -> Figure:
    """Return rate = patients whose first visit fell in the period and who completed
    another visit within N days of it / patients whose first visit fell in the period."""
    return proportion(returned, first_visit_patients)


def visits_per_patient(visits: int, visits_sq: int, patients: int) -> Figure:
    """Visits per patient = completed visits / patients with at least one, in the period
    (``visits_sq``: Σ of each patient's count squared, for the interval)."""
    return mean(visits, visits_sq, patients)


def completion_rate(completed: int, abandoned: int, stalled: int) -> Figure:
    """Treatment completion = accepted plans completed / (completed + abandoned +
    stalled), over plans that reached an end or stalled in the period."""
    return proportion(completed, completed + abandoned + stalled)


def no_show_rate(no_shows: int, completed: int) -> Figure:
    """No-show rate = no-shows / (completed visits + no-shows). Cancellations are not
    counted either way: the slot was given back."""
    return proportion(no_shows, completed + no_shows)


def clv(cash_flows: Iterable[tuple[float, float]], discount_rate: float) -> float:
    """Customer lifetime value of one patient:

        CLV = Σₜ (Rₜ − Cₜ) / (1 + d)ᵗ,   t = 0, 1, 2, … ,

    over the patient's periods t counted from the period of the first visit (t = 0, not
    discounted), with revenue Rₜ (prices charged), costs Cₜ and discount rate d per period.
    """
    if discount_rate <= -1:
        raise ValueError("the discount rate must be above −100 %")
    factor = 1.0 / (1.0 + discount_rate)
    return sum((revenue - cost) * factor**t for t, (revenue, cost) in enumerate(cash_flows))


def dormant_share(dormant: int, patients: int) -> Figure:
    """Dormant share = patients with no visit for M months and none booked / patients
    who have had a visit."""
    return proportion(dormant, patients)


def reactivated_share(reactivated: int, formerly_dormant: int) -> Figure:
    """Reactivated share = formerly dormant patients who booked again / formerly
    dormant patients."""
    return proportion(reactivated, formerly_dormant)


def contacted_within_sla(contacted_in_time: int, negative: int) -> Figure:
    """Recovery speed = negative responses whose patient was contacted within 24 h /
    negative responses."""
    return proportion(contacted_in_time, negative)


def recovered_return(returned: int, negative_patients: int) -> Figure:
    """Recovery result = patients with a negative response who came back (a completed
    visit after it) / patients with a negative response."""
    return proportion(returned, negative_patients)


def recovered_by_resurvey(recovered: int, asked_again: int) -> Figure:
    """Recovered share = patients reached after a negative answer who, asked again
    ("how do you feel about the clinic now?", 0–10), answer 7 or more / those who answered
    that question. Confirmed by the patient, not assumed from the call."""
    return proportion(recovered, asked_again)


def handoff_conversion(converted: int, handoffs: int) -> Figure:
    """Handoff conversion = handoffs booked (or completed) / handoffs made."""
    return proportion(converted, handoffs)


# --- Changes that are unlikely to be noise ---------------------------------------------


@dataclass(frozen=True)
class ProportionTest:
    """The result of :func:`two_proportion_z_test`: the statistic and its two-sided
    p-value."""

    z: float
    p_value: float


def two_proportion_z_test(hits: int, n: int, base_hits: int, base_n: int) -> ProportionTest | None:
    """Two-sided two-proportion z-test with the pooled proportion: is the share
    x₁ / n₁ (this period) different from x₂ / n₂ (the baseline)?

        p̂₁ = x₁ / n₁,   p̂₂ = x₂ / n₂,   p̂ = (x₁ + x₂) / (n₁ + n₂),
        z = (p̂₁ − p̂₂) / √(p̂ · (1 − p̂) · (1/n₁ + 1/n₂)),
        p = 2 · (1 − Φ(|z|)) = erfc(|z| / √2),

    Φ the standard normal distribution function. None when a sample is empty or the
    pooled share is 0 or 1 (no variance: nothing to test). The normal approximation is
    poor for small counts; :func:`share_change` asks a minimum count besides p.
    """
    if n <= 0 or base_n <= 0:
        return None
    if not (0 <= hits <= n and 0 <= base_hits <= base_n):
        raise ValueError(f"{hits}/{n} or {base_hits}/{base_n} is not a proportion")
    pooled = (hits + base_hits) / (n + base_n)
    if pooled in (0.0, 1.0):
        return None
    error = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / base_n))
    z = (hits / n - base_hits / base_n) / error
    return ProportionTest(z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))


CHANGE_ALPHA = 0.05  # the p-value below which a change is flagged
CHANGE_MIN_COUNT = 5  # and the fewest answers it must stand on


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the order given: with the m p-values
    sorted p₍₁₎ ≤ … ≤ p₍ₘ₎,

        q₍ᵢ₎ = min over j ≥ i of (m / j · p₍ⱼ₎), at most 1.

    Flagging the tests with q < α keeps the expected share of false flags among all the
    flags at most α (the false discovery rate), however many tests are run at once — a
    week's report tests every reason in every group, where a plain p < 0.05 would flag
    one test in twenty of pure chance."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, m / rank * p_values[index])
        adjusted[index] = min(running, 1.0)
    return adjusted


def share_change(
    hits: int,
    n: int,
    base_hits: int,
    base_n: int,
    *,
    alpha: float = CHANGE_ALPHA,
    min_count: int = CHANGE_MIN_COUNT,
    p_value: float | None = None,
) -> tuple[str, ProportionTest | None]:
    """Whether a share rose ("up"), fell ("down") or did neither ("") against its
    baseline, flagged only when unlikely to be noise: the two-proportion z-test
    (:func:`two_proportion_z_test`) gives p < ``alpha`` AND the larger of the observed
    count x₁ and the count expected at the baseline share, n₁ · x₂ / n₂, is at least
    ``min_count`` (a rise needs that many answers this period; a fall, that many
    expected). ``p_value``, when given, is judged instead of the test's own (one
    corrected for the other tests run with it, :func:`benjamini_hochberg`). Returns the
    direction and the test (None when nothing could be tested)."""
    test = two_proportion_z_test(hits, n, base_hits, base_n)
    judged_p = test.p_value if test is not None and p_value is None else p_value
    if test is None or judged_p is None or judged_p >= alpha or test.z == 0:
        return "", test
    expected = n * base_hits / base_n
    if max(hits, expected) < min_count:
        return "", test
    return ("up" if test.z > 0 else "down"), test
