"""Intervals (Wilson, bootstrap, Newcombe's paired), McNemar's test and power, on small hand-checkable data."""

from __future__ import annotations

import time

import numpy as np
import pytest

from studio.evaluation.significance import (
    bootstrap_interval,
    examples_needed,
    honest_interval,
    interval_dict,
    mcnemar,
    mean_interval,
    newcombe_paired,
    paired_difference,
    resolvable_difference,
    wilson_interval,
)

EIGHTY_IN_A_HUNDRED = [1.0] * 80 + [0.0] * 20


def test_eighty_right_of_a_hundred_gives_the_textbook_interval():
    # The normal approximation gives 0.8 +- 1.96 * sqrt(0.8 * 0.2 / 100) = 0.72 .. 0.88.
    low, high = bootstrap_interval(EIGHTY_IN_A_HUNDRED)
    assert low == pytest.approx(0.72, abs=0.02)
    assert high == pytest.approx(0.88, abs=0.02)


def test_interval_contains_the_mean_and_shrinks_as_examples_grow():
    pattern = [1.0, 0.0, 1.0, 1.0, 0.0, 0.5, 0.25]
    widths = []
    for repeats in (3, 30, 300):
        values = pattern * repeats
        low, high = bootstrap_interval(values)
        assert low < np.mean(values) < high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # The width of a mean's interval falls like 1 / sqrt(n): ten times the data, about a third.
    assert widths[2] / widths[1] == pytest.approx(1 / np.sqrt(10), rel=0.2)


def test_a_higher_level_gives_a_wider_interval():
    narrow = bootstrap_interval(EIGHTY_IN_A_HUNDRED, level=0.8)
    wide = bootstrap_interval(EIGHTY_IN_A_HUNDRED, level=0.99)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_same_seed_same_interval_other_seed_other_interval():
    values = list(np.random.default_rng(7).random(60))
    assert bootstrap_interval(values, seed=3) == bootstrap_interval(values, seed=3)
    assert bootstrap_interval(values, seed=3) != bootstrap_interval(values, seed=4)
    assert paired_difference(values, values[::-1], seed=3) == paired_difference(values, values[::-1], seed=3)


def test_constant_or_single_values_give_a_point_interval():
    assert bootstrap_interval([0.1] * 50) == (0.1, 0.1)
    assert bootstrap_interval([0.3]) == (0.3, 0.3)


def test_empty_values_and_bad_levels_are_refused():
    with pytest.raises(ValueError, match="at least one value"):
        bootstrap_interval([])
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval([0.0, 1.0], level=95)


def test_large_held_out_sets_are_resampled_in_batches_with_the_same_answer_shape():
    values = [1.0] * 4000 + [0.0] * 1000
    low, high = bootstrap_interval(values)
    # 0.8 +- 1.96 * sqrt(0.16 / 5000) = 0.789 .. 0.811
    assert low == pytest.approx(0.789, abs=0.004)
    assert high == pytest.approx(0.811, abs=0.004)


def test_two_thousand_resamples_of_five_hundred_values_are_fast():
    values = list(np.random.default_rng(0).random(500))
    bootstrap_interval(values)
    start = time.perf_counter()
    bootstrap_interval(values)
    paired_difference(values, values[::-1])
    assert time.perf_counter() - start < 0.5  # about 20 ms each; generous for a busy machine


def test_interval_dict_carries_mean_bounds_and_count():
    summary = interval_dict(EIGHTY_IN_A_HUNDRED)
    assert set(summary) == {"mean", "low", "high", "n"}
    assert summary["mean"] == pytest.approx(0.8)
    assert summary["n"] == 100
    assert (summary["low"], summary["high"]) == wilson_interval(80, 100)


def test_a_clear_improvement_has_an_interval_above_zero():
    # Both right on 20, tuned alone right on 16, baseline alone right on 2, both wrong on 12.
    tuned = [1.0] * 20 + [1.0] * 16 + [0.0] * 2 + [0.0] * 12
    baseline = [1.0] * 20 + [0.0] * 16 + [1.0] * 2 + [0.0] * 12
    result = paired_difference(tuned, baseline)
    assert result["difference"] == pytest.approx(14 / 50)
    assert 0 < result["low"] < result["difference"] < result["high"]
    assert result["p_value"] < 0.01


def test_a_tie_has_an_interval_straddling_zero():
    a = [1.0] * 20 + [1.0] * 8 + [0.0] * 8 + [0.0] * 14
    b = [1.0] * 20 + [0.0] * 8 + [1.0] * 8 + [0.0] * 14
    result = paired_difference(a, b)
    assert result["difference"] == 0.0
    assert result["low"] < 0 < result["high"]
    assert result["p_value"] > 0.5


def test_pairing_cancels_shared_example_difficulty():
    # Example difficulty varies a lot, but a beats b by 0.05 on every example (plus noise):
    # the separate intervals overlap, yet the paired one is tight and above zero.
    rng = np.random.default_rng(1)
    difficulty = rng.random(40)
    a = list(difficulty + 0.05 + rng.normal(0, 0.01, 40))
    b = list(difficulty)
    assert bootstrap_interval(a)[0] < bootstrap_interval(b)[1]
    result = paired_difference(a, b)
    assert 0.04 < result["low"] < result["high"] < 0.06


def test_identical_answers_do_not_collapse_the_interval():
    # Both models right on all 30: no difference seen, but 30 examples cannot rule one out.
    same = paired_difference([1.0] * 30, [1.0] * 30)
    assert same["difference"] == 0.0 and same["p_value"] == 1.0
    assert same["low"] == pytest.approx(-0.1135, abs=1e-4) and same["high"] == pytest.approx(0.1135, abs=1e-4)
    # Every pair differs the same way: the tuned model right, the baseline wrong, on all 30.
    result = paired_difference([1.0] * 30, [0.0] * 30)
    assert result["difference"] == 1.0 and result["high"] == 1.0
    assert result["low"] == pytest.approx(0.8395, abs=1e-4) and result["p_value"] < 1e-8


def test_equal_graded_differences_fall_back_to_newcombe_at_the_means():
    # Every example's chrF differs by exactly 0.25: the bootstrap cannot vary them.
    result = paired_difference([0.75] * 20, [0.5] * 20)
    assert result["method"] == "newcombe" and result["low"] < 0.25 < result["high"]
    assert result["p_value"] == pytest.approx(2 * 0.5**20)


def test_wilson_matches_scipy_and_the_textbook_edge_cases():
    from scipy.stats import binomtest

    assert wilson_interval(30, 30)[0] == pytest.approx(0.8865, abs=1e-4) and wilson_interval(30, 30)[1] == 1.0
    assert wilson_interval(0, 30) == pytest.approx((0.0, 0.1135), abs=1e-4)
    for k, n in ((0, 10), (3, 10), (17, 22), (80, 100), (999, 1000)):
        reference = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((reference.low, reference.high), abs=1e-12)


def test_no_mean_interval_has_zero_width_below_a_thousand_examples():
    assert mean_interval([1.0] * 30) == pytest.approx((0.8865, 1.0), abs=1e-4)  # the 30/30 baseline
    graded = mean_interval([0.6] * 40)  # every chrF equal: Wilson at the mean
    assert graded[0] < 0.6 < graded[1] and graded == wilson_interval(24, 40)
    spread = [0.2, 0.4, 0.9, 0.7, 0.65] * 8  # varied graded scores keep the bootstrap
    assert mean_interval(spread) == bootstrap_interval(spread)


def test_stored_bootstrap_intervals_are_recomputed_honestly():
    old = {"mean": 1.0, "low": 1.0, "high": 1.0, "n": 30}
    assert (honest_interval(old, binary=True)["low"], honest_interval(old, binary=False)["high"]) == (
        pytest.approx(0.8865, abs=1e-4),
        1.0,
    )
    graded = {"mean": 0.7, "low": 0.65, "high": 0.75, "n": 30}
    assert honest_interval(graded, binary=False) == graded


def test_newcombe_matches_the_published_paired_example():
    # Cavo et al. 2012 (Fagerland, Lydersen and Laake, Statistical Analysis of Contingency Tables, ch. 8):
    # both right 59, first only 6, second only 16, neither 80: -0.0621 (-0.1186 to -0.0046).
    a = np.array([1.0] * 59 + [1.0] * 6 + [0.0] * 16 + [0.0] * 80)
    b = np.array([1.0] * 59 + [0.0] * 6 + [1.0] * 16 + [0.0] * 80)
    assert newcombe_paired(a, b) == pytest.approx((-0.1186, -0.0046), abs=1e-4)


def test_power_solves_connors_formula_both_ways():
    # Connor (1987): n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2; psi 0.2, d 0.1: (1.96*0.447 + 0.842*0.436)^2 / 0.01
    assert examples_needed(0.1, 0.2, 0.1) == 155
    assert resolvable_difference(155, 0.2) == pytest.approx(0.1, abs=0.002)
    assert resolvable_difference(30, 0.2) > resolvable_difference(300, 0.2)
    assert resolvable_difference(30, 0.0) > 0  # no disagreement seen: one is assumed


def test_paired_difference_names_both_lengths_when_they_differ():
    with pytest.raises(ValueError, match="a has 3, b has 2"):
        paired_difference([1.0, 0.0, 1.0], [1.0, 0.0])


def test_mcnemar_six_discordant_pairs_all_one_way():
    a_right = [True] * 6 + [True] * 10 + [False] * 4
    b_right = [False] * 6 + [True] * 10 + [False] * 4
    assert mcnemar(a_right, b_right) == {"a_only": 6, "b_only": 0, "p_value": pytest.approx(2 * 0.5**6)}


def test_mcnemar_five_against_one_is_not_significant():
    a_right = [True] * 5 + [False] + [True] * 3
    b_right = [False] * 5 + [True] + [True] * 3
    # P(X <= 1 | n=6, p=1/2) = 7/64, doubled for two sides.
    assert mcnemar(a_right, b_right) == {"a_only": 5, "b_only": 1, "p_value": pytest.approx(14 / 64)}


def test_mcnemar_without_discordant_pairs_is_one_and_lengths_must_match():
    assert mcnemar([True, False], [True, False]) == {"a_only": 0, "b_only": 0, "p_value": 1.0}
    with pytest.raises(ValueError, match="a has 2, b has 1"):
        mcnemar([True, False], [True])
