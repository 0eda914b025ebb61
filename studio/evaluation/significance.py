"""Confidence intervals and significance tests for comparing models on one held-out set.

The leaderboard needs more than a mean: "the tuned model wins by 6 points" is only worth
shipping if the interval around that margin stays above zero. Everything here is a
seeded percentile bootstrap or an exact test, so the same scores always give the same
numbers and a dashboard does not flicker between reloads.

Empty inputs raise ValueError rather than returning NaN: an interval over no examples
is a caller's bug (a model or slice with nothing scored), and NaN would travel silently
into JSON and charts.
"""

from __future__ import annotations

import numpy as np

# Resampling a (resamples x n) index matrix in one go is fastest, but a large held-out
# set would make it hundreds of MB; batches of this many cells keep memory near 8 MB.
_CELLS_PER_BATCH = 1_000_000


def bootstrap_interval(
    values: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values`.

    One value, or values that are all equal, give (v, v): resampling cannot vary them.
    Raises ValueError on an empty list or a level outside (0, 1).
    """
    _check_level(level)
    data = _as_array(values, "bootstrap_interval")
    if np.ptp(data) == 0:
        return float(data[0]), float(data[0])
    return _percentiles(_bootstrap_means(data, resamples, seed), level)


def paired_difference(
    a: list[float], b: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> dict:
    """Mean of a minus mean of b on the same examples, with a paired bootstrap interval.

    Each resample draws example indices once and uses them for both models (equivalent
    to bootstrapping the per-example differences), so example difficulty, which both
    models share, cancels out instead of widening the interval.

    Returns {"difference", "low", "high", "p_value"}. The p-value is two-sided:
    2 x the share of resampled differences at or beyond zero on the far side from the
    observed one, with the usual +1 Monte Carlo correction so it is never exactly 0
    (its floor is about 2 / resamples), capped at 1. It agrees with the interval: below
    1 - level roughly when the interval excludes zero.
    """
    if len(a) != len(b):
        raise ValueError(f"paired_difference needs scores for the same examples: a has {len(a)}, b has {len(b)}")
    _check_level(level)
    diffs = _as_array(a, "paired_difference") - _as_array(b, "paired_difference")
    if np.ptp(diffs) == 0:
        # Every resample gives the same difference; say so exactly rather than up to rounding.
        difference = float(diffs[0])
        p_value = 1.0 if difference == 0 else min(1.0, 2 / (resamples + 1))
        return {"difference": difference, "low": difference, "high": difference, "p_value": p_value}
    difference = float(diffs.mean())
    means = _bootstrap_means(diffs, resamples, seed)
    low, high = _percentiles(means, level)
    return {"difference": difference, "low": low, "high": high, "p_value": _two_sided_p(means)}


def mcnemar(a_right: list[bool], b_right: list[bool]) -> dict:
    """Exact McNemar test: do two models differ in which examples they get right?

    Only discordant examples carry information: "a_only" (a right, b wrong) and "b_only"
    (b right, a wrong). Under no difference each discordant example is a fair coin, so
    the two-sided p-value is an exact binomial test; with no discordant pairs it is 1.0.
    Returns {"a_only", "b_only", "p_value"}.
    """
    if len(a_right) != len(b_right):
        raise ValueError(f"mcnemar needs results for the same examples: a has {len(a_right)}, b has {len(b_right)}")
    a = np.asarray(a_right, dtype=bool)
    b = np.asarray(b_right, dtype=bool)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    if a_only + b_only == 0:
        return {"a_only": 0, "b_only": 0, "p_value": 1.0}
    from scipy.stats import binomtest  # scipy.stats takes a while to import; only this test needs it

    p_value = binomtest(a_only, a_only + b_only, 0.5, alternative="two-sided").pvalue
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p_value)}


def interval_dict(values: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0) -> dict:
    """{"mean", "low", "high", "n"} for one metric of one model, ready to store as JSON."""
    low, high = bootstrap_interval(values, level=level, resamples=resamples, seed=seed)
    return {"mean": float(np.mean(values)), "low": low, "high": high, "n": len(values)}


def _as_array(values: list[float], caller: str) -> np.ndarray:
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError(f"{caller} needs at least one value")
    return data


def _bootstrap_means(data: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Means of `resamples` resamples (with replacement) of `data`, drawn from one seeded generator."""
    rng = np.random.default_rng(seed)
    batch = max(1, _CELLS_PER_BATCH // data.size)
    means = []
    for start in range(0, resamples, batch):
        picks = rng.integers(0, data.size, size=(min(batch, resamples - start), data.size))
        means.append(data[picks].mean(axis=1))
    return np.concatenate(means)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, not {level}")


def _percentiles(means: np.ndarray, level: float) -> tuple[float, float]:
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _two_sided_p(means: np.ndarray) -> float:
    beyond = min(np.sum(means <= 0), np.sum(means >= 0))
    return float(min(1.0, 2 * (beyond + 1) / (means.size + 1)))
