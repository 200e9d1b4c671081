"""The formulas on numbers worked out by hand (the working is in the comments), with the
edge cases: no answers, all promoters, a single answer."""

import pytest

from feedback.scales import nps_class
from metrics import formulas as f


def approx(value, abs=0.01):
    return pytest.approx(value, abs=abs)


# --- NPS -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "kind"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_nps_classes_follow_the_scale(score, kind):
    assert nps_class(score) == kind


@pytest.mark.parametrize("score", [-1, 11, 7.5, True, "9", None])
def test_an_nps_answer_outside_0_to_10_is_refused(score):
    with pytest.raises(ValueError, match="0 to 10"):
        nps_class(score)


def test_nps_of_a_mixed_sample():
    # 5 promoters, 3 passives, 2 detractors of 10: 50 % − 20 % = +30.
    # Interval: n' = 13, p' = 5.75/13 = .442308, d' = 2.75/13 = .211538, centre .230769;
    # variance .653846 − .053254 = .600592; 1.96·√(.600592/13) = .421275
    # → −19.05 … 65.20.
    figure = f.nps(5, 3, 2)
    assert figure.value == 30
    assert figure.n == 10
    assert (figure.promoters, figure.passives, figure.detractors) == (50, 30, 20)
    assert (figure.low, figure.high) == (approx(-19.05), approx(65.20))


def test_nps_with_no_answers_has_no_value():
    figure = f.nps(0, 0, 0)
    assert figure.value is None
    assert figure.n == 0
    assert figure.empty
    assert figure.promoters is None


def test_nps_of_all_promoters_is_100_with_an_interval_that_does_not_collapse():
    # 10 promoters: +100. n' = 13, p' = 10.75/13 = .826923, d' = .75/13 = .057692,
    # centre .769231; variance .884615 − .591716 = .292899; 1.96·√(.292899/13) = .294197
    # → 47.50 … 106.3, clipped to 100.
    figure = f.nps(10, 0, 0)
    assert figure.value == 100
    assert (figure.low, figure.high) == (approx(47.50), 100)


def test_nps_of_a_single_answer_is_wide_open():
    # One 9: +100. n' = 4, p' = .4375, d' = .1875, centre .25; variance .625 − .0625 =
    # .5625; 1.96·√(.5625/4) = .734986 → −48.50 … 98.50.
    figure = f.nps(1, 0, 0)
    assert figure.value == 100
    assert figure.n == 1
    assert (figure.low, figure.high) == (approx(-48.50), approx(98.50))


def test_all_detractors_is_minus_100():
    assert f.nps(0, 0, 4).value == -100


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        f.nps(-1, 2, 3)


# --- Proportions and means -------------------------------------------------------------


def test_proportion_uses_the_wilson_interval():
    # 3 of 10: the textbook Wilson interval is 10.78 % … 60.32 %.
    figure = f.proportion(3, 10)
    assert figure.value == 30
    assert (figure.low, figure.high) == (approx(10.78), approx(60.32))


@pytest.mark.parametrize(("hits", "low", "high"), [(0, 0, 27.75), (10, 72.25, 100)])
def test_proportion_at_the_edges_stays_inside_0_to_100(hits, low, high):
    figure = f.proportion(hits, 10)
    assert (figure.low, figure.high) == (approx(low), approx(high))


def test_proportion_of_nothing_is_empty_and_impossible_counts_are_refused():
    assert f.proportion(0, 0).value is None
    with pytest.raises(ValueError, match="11 hits out of 10"):
        f.proportion(11, 10)


def test_visits_per_patient_is_a_mean_with_its_interval():
    # Patients with 1, 2 and 3 visits: 6 / 3 = 2; s² = (14 − 36/3) / 2 = 1;
    # 1.96·√(1/3) = 1.1316 → 0.868 … 3.132.
    figure = f.visits_per_patient(visits=6, visits_sq=14, patients=3)
    assert figure.value == 2
    assert (figure.low, figure.high) == (approx(0.868, 0.001), approx(3.132, 0.001))


def test_a_mean_of_one_has_no_interval_and_of_none_no_value():
    assert f.mean(7, 49, 1) == f.Figure(value=7, n=1)
    assert f.mean(0, 0, 0).value is None


def test_no_show_rate_ignores_cancellations():
    # 2 no-shows, 18 completed: 2 / 20 = 10 %.
    assert f.no_show_rate(no_shows=2, completed=18).value == 10


def test_completion_counts_stalled_plans_as_not_completed():
    # 6 completed, 2 abandoned, 2 stalled: 6 / 10.
    assert f.completion_rate(completed=6, abandoned=2, stalled=2).value == 60


def test_return_rate_and_recovery_shares():
    assert f.return_rate(returned=45, first_visit_patients=60).value == 75
    assert f.contacted_within_sla(contacted_in_time=9, negative=12).value == 75
    assert f.recovered_return(returned=1, negative_patients=4).value == 25
    assert f.handoff_conversion(converted=3, handoffs=4).value == 75
    assert f.dormant_share(dormant=1, patients=8).value == 12.5
    assert f.reactivated_share(reactivated=0, formerly_dormant=0).value is None


# --- CSI -------------------------------------------------------------------------------

COMMUNICATION = f.AttributeTotals("communication", weight=3, count=3, total=14, total_sq=66)
WAITING = f.AttributeTotals("waiting", weight=1, count=2, total=5, total_sq=13)
UNANSWERED = f.AttributeTotals("parking", weight=5, count=0, total=0, total_sq=0)


def test_csi_weighs_attributes_by_importance():
    # Communication (weight 3) scored 5, 4, 5: mean 14/3; waiting (weight 1) 2, 3: mean
    # 2.5. CSI = (3·14/3 + 1·2.5) / ((3 + 1)·5) = 16.5 / 20 = 82.5 %.
    # Interval: var₁ = (66 − 196/3)/2 = 1/3, var₂ = (13 − 12.5)/1 = .5;
    # Var = (3/20)²·(1/3)/3 + (1/20)²·.5/2 = .0025 + .000625 = .003125;
    # 1.96·√.003125·100 = 10.957 → 71.54 … 93.46.
    figure = f.csi([COMMUNICATION, WAITING], scale_max=5, responses=3)
    assert figure.value == approx(82.5, 1e-9)
    assert figure.n == 3
    assert (figure.low, figure.high) == (approx(71.54), approx(93.46))


def test_an_attribute_nobody_answered_neither_raises_nor_lowers_csi():
    with_it = f.csi([COMMUNICATION, WAITING, UNANSWERED], scale_max=5, responses=3)
    assert with_it.value == approx(82.5, 1e-9)


def test_csi_with_no_answers_has_no_value():
    assert f.csi([UNANSWERED], scale_max=5, responses=0).value is None
    assert f.csi([], scale_max=5, responses=0).empty


def test_csi_of_a_single_response_has_no_interval():
    single = f.AttributeTotals("communication", weight=2, count=1, total=4, total_sq=16)
    figure = f.csi([single], scale_max=5, responses=1)
    assert figure.value == 80
    assert figure.low is None


def test_attribute_satisfaction_is_the_mean_as_a_share_of_the_top_score():
    # 14/3 of 5 = 93.33 %; mean interval 4.6667 ± 1.96·√((1/3)/3) = ±.6533 → ×20.
    figure = f.attribute_satisfaction(COMMUNICATION, scale_max=5)
    assert figure.value == approx(93.33)
    assert (figure.low, figure.high) == (approx(80.27), 100)


def test_quadrant_puts_important_unsatisfying_attributes_first():
    # Mean importance 5.75, mean satisfaction 71.25.
    places = f.importance_satisfaction_quadrant(
        [("communication", 9, 60), ("comfort", 4, 90), ("waiting", 8, 85), ("parking", 2, 50)]
    )
    assert places == {
        "communication": "fix_first",
        "comfort": "surplus",
        "waiting": "keep_up",
        "parking": "secondary",
    }


# --- CLV and the minimum sample ---------------------------------------------------------


def test_clv_discounts_later_periods():
    # (1000 − 400) + (500 − 200)/1.1 + (800 − 300)/1.21 = 600 + 272.73 + 413.22.
    assert f.clv([(1000, 400), (500, 200), (800, 300)], discount_rate=0.1) == approx(1285.95)


def test_clv_without_discounting_is_the_margin_and_of_nobody_is_zero():
    assert f.clv([(100, 30), (50, 10)], discount_rate=0) == 110
    assert f.clv([], discount_rate=0.1) == 0
    with pytest.raises(ValueError, match="discount rate"):
        f.clv([(1, 0)], discount_rate=-1)


def test_figures_below_the_minimum_sample_are_hidden():
    assert f.judged(f.nps(20, 5, 4), min_sample=30) is None  # 29 answers
    assert f.judged(f.nps(20, 5, 5), min_sample=30).value == 50
    assert f.judged(f.nps(0, 0, 0), min_sample=0) is None
