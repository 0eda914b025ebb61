"""Confidence intervals, significance tests and power for comparing models on one held-out set.

The leaderboard needs more than a mean: "the tuned model wins by 6 points" is only worth
shipping if the interval around that margin stays above zero. And an interval must be
honest at the edges: 30 right answers out of 30 do not prove a model is always right, so
no interval here has zero width on a sample.

- One model's share of right answers (0/1 scores): the Wilson score interval (Wilson 1927;
  Newcombe 1998a, "Two-sided confidence intervals for the single proportion", method 3).
  30/30 gives 0.886 to 1.
- One model's mean of a graded score in [0, 1] (field accuracy, chrF): a seeded percentile
  bootstrap; where every score is equal the bootstrap cannot vary them, and the interval is
  the Wilson interval at that mean instead (a score in [0, 1] with mean m has variance at
  most m(1 - m), the 0/1 case, so that is the widest the sample can honestly claim).
- The paired difference of two models' 0/1 scores: Newcombe's hybrid score interval for
  paired proportions (Newcombe 1998b, Statistics in Medicine 17:2635-2650, method 10,
  with its continuity-corrected phi), with McNemar's exact p-value. It does not collapse
  when one side is perfect or every pair differs the same way.
- The paired difference of graded scores: a paired percentile bootstrap by example; where
  every difference is equal, the same Newcombe interval at the two means. JSON answers pool
  every field as a paired judgement, bootstrapped by example (`paired_field_difference`).
- Power (`resolvable_difference`, `examples_needed`): Connor's (1987) sample size for
  McNemar's test, written with the mean squared per-example difference, which is the
  discordant rate for 0/1 scores and its natural extension for graded ones.

Everything is seeded or closed-form, so the same scores always give the same numbers.
Empty inputs raise ValueError rather than returning NaN: an interval over no examples is
a caller's bug, and NaN would travel silently into JSON and charts.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

# Resampling a (resamples x n) index matrix in one go is fastest, but a large held-out
# set would make it hundreds of MB; batches of this many cells keep memory near 8 MB.
_CELLS_PER_BATCH = 1_000_000
POWER = 0.8


def wilson_interval(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (successes may be fractional: a mean times n)."""
    _check_level(level)
    if n <= 0:
        raise ValueError("wilson_interval needs at least one trial")
    z = _z(level)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(
    values: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """The raw percentile bootstrap interval of the mean of `values` (a building block: see mean_interval).

    One value, or values that are all equal, give (v, v): resampling cannot vary them.
    Raises ValueError on an empty list or a level outside (0, 1).
    """
    _check_level(level)
    data = _as_array(values, "bootstrap_interval")
    if np.ptp(data) == 0:
        return float(data[0]), float(data[0])
    return _percentiles(_bootstrap_means(data, resamples, seed), level)


def mean_interval(
    values: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """The interval of a model's mean score: Wilson for 0/1 scores, else the bootstrap (Wilson where it collapses)."""
    data = _as_array(values, "mean_interval")
    if _binary(data):
        return wilson_interval(float(data.sum()), data.size, level)
    if np.ptp(data) == 0:
        return wilson_interval(float(data[0]) * data.size, data.size, level)
    return bootstrap_interval(values, level, resamples, seed)


def honest_interval(entry: dict, binary: bool, level: float = 0.95) -> dict:
    """A stored {"mean", "low", "high", "n"} recomputed where the old percentile bootstrap claimed too much.

    Evaluations recorded before these intervals kept a bootstrap interval: for a 0/1 metric
    the Wilson interval follows from the mean and n alone; a zero-width interval of a graded
    metric came from equal scores, whose interval is the Wilson interval at the mean.
    """
    n = int(entry.get("n") or 0)
    if n <= 0:
        return entry
    if binary or entry["low"] == entry["high"]:
        low, high = wilson_interval(min(max(entry["mean"], 0.0), 1.0) * n, n, level)
        return {**entry, "low": low, "high": high}
    return entry


def paired_difference(
    a: list[float], b: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> dict:
    """Mean of a minus mean of b on the same examples, with a paired interval.

    0/1 scores: Newcombe's hybrid score interval for paired proportions, and McNemar's
    exact two-sided p-value. Graded scores: a paired bootstrap (each resample draws example
    indices once for both models, so the difficulty both share cancels out), with the
    usual +1 Monte Carlo correction on its p-value; where every difference is equal, the
    Newcombe interval at the two means and a sign test's p-value.

    Returns {"difference", "low", "high", "p_value", "method"}.
    """
    if len(a) != len(b):
        raise ValueError(f"paired_difference needs scores for the same examples: a has {len(a)}, b has {len(b)}")
    _check_level(level)
    x, y = _as_array(a, "paired_difference"), _as_array(b, "paired_difference")
    diffs = x - y
    difference = float(diffs.mean())
    if _binary(x) and _binary(y):
        low, high = newcombe_paired(x, y, level)
        p_value = mcnemar(list(x == 1), list(y == 1))["p_value"]
        return {"difference": difference, "low": low, "high": high, "p_value": p_value, "method": "newcombe"}
    if np.ptp(diffs) == 0:
        low, high = newcombe_paired(x, y, level)
        p_value = 1.0 if difference == 0 else min(1.0, 2 * 0.5**diffs.size)  # every pair on one side: a sign test
        return {"difference": difference, "low": low, "high": high, "p_value": p_value, "method": "newcombe"}
    means = _bootstrap_means(diffs, resamples, seed)
    low, high = _percentiles(means, level)
    return {"difference": difference, "low": low, "high": high, "p_value": _two_sided_p(means), "method": "bootstrap"}


def paired_field_difference(
    right_a: list[float],
    right_b: list[float],
    fields: list[float],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> dict:
    """Pooled share of JSON fields a gets right minus b's, every field a paired judgement, bootstrapped by example.

    Resampling whole examples (a cluster bootstrap) keeps the fields of one answer together, as
    they are not independent, while the interval gains the power of all the fields rather than
    of whole-answer exact match. Where every example's difference is equal, Newcombe's interval
    at the two examples-level means. Returns paired_difference's keys.
    """
    ra, rb, total = (_as_array(v, "paired_field_difference") for v in (right_a, right_b, fields))
    if not ra.size == rb.size == total.size:
        raise ValueError(
            f"paired_field_difference needs counts for the same examples: {ra.size}, {rb.size}, {total.size}"
        )
    _check_level(level)
    total = np.maximum(total, 1.0)
    gap = ra - rb
    difference = float(gap.sum() / total.sum())
    if np.ptp(gap / total) == 0:
        fallback = paired_difference(list(ra / total), list(rb / total), level)
        return {**fallback, "difference": difference}
    rng = np.random.default_rng(seed)
    batch, ratios = max(1, _CELLS_PER_BATCH // gap.size), []
    for start in range(0, resamples, batch):
        picks = rng.integers(0, gap.size, size=(min(batch, resamples - start), gap.size))
        ratios.append(gap[picks].sum(axis=1) / total[picks].sum(axis=1))
    ratios = np.concatenate(ratios)
    low, high = _percentiles(ratios, level)
    return {"difference": difference, "low": low, "high": high, "p_value": _two_sided_p(ratios), "method": "bootstrap"}


def newcombe_paired(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Newcombe's (1998b) method 10 for the difference of paired proportions, mean(a) - mean(b).

    Square-and-add of the two Wilson intervals, corrected by phi, the correlation of the pairs
    with Newcombe's continuity correction (n/2 off a positive ad - bc, none between 0 and n/2).
    For 0/1 scores this is exactly the published method; graded scores in [0, 1] use their
    means and Pearson correlation in the same formula.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = a.size
    p1, p2 = float(a.mean()), float(b.mean())
    l1, u1 = wilson_interval(p1 * n, n, level)
    l2, u2 = wilson_interval(p2 * n, n, level)
    phi = _corrected_phi(a, b)
    d = p1 - p2
    low = d - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    high = d + math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    return max(-1.0, low), min(1.0, high)


def _corrected_phi(a: np.ndarray, b: np.ndarray) -> float:
    """ad - bc over the margins' root product, which is n^2 cov / (n^2 sd_a sd_b); n/2 off ad - bc when above it."""
    n = a.size
    spread = float(a.std() * b.std())
    if spread == 0:
        return 0.0
    cross = n * n * float(np.mean(a * b) - a.mean() * b.mean())  # ad - bc for 0/1 pairs
    if cross > n / 2:
        cross -= n / 2
    elif cross >= 0:
        cross = 0.0
    return cross / (n * n * spread)


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


def resolvable_difference(n: int, spread: float, level: float = 0.95, power: float = POWER) -> float:
    """The smallest true difference n paired examples detect with this power (Connor 1987, solved for the difference).

    `spread` is the mean squared per-example difference: for 0/1 scores, the share of
    examples where the two models disagree. Connor: n d^2 = (z_a sqrt(s) + z_b sqrt(s - d^2))^2.
    """
    if n <= 0:
        raise ValueError("resolvable_difference needs at least one example")
    z_a, z_b = _z(level), NormalDist().inv_cdf(power)
    s = max(spread, 1 / n)  # no disagreement seen yet: assume one, or the power is undefined

    def short(d: float) -> bool:  # n examples are not enough for difference d
        return math.sqrt(n) * d < z_a * math.sqrt(s) + z_b * math.sqrt(max(s - d * d, 0.0))

    low, high = 0.0, 1.0
    if short(high):
        return 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if short(mid) else (low, mid)
    return high


def examples_needed(
    distance: float, spread: float, difference: float, level: float = 0.95, power: float = POWER
) -> int:
    """Paired examples needed to tell `difference` from a bar `distance` away, with this power (Connor 1987).

    n = (z_a sqrt(s) + z_b sqrt(s - d^2))^2 / distance^2, with s the mean squared per-example
    difference and d the observed difference: against a bar at zero it is Connor's formula.
    """
    if distance <= 0:
        raise ValueError("examples_needed needs a positive distance to the bar")
    z_a, z_b = _z(level), NormalDist().inv_cdf(power)
    s = max(spread, difference * difference)
    return math.ceil((z_a * math.sqrt(s) + z_b * math.sqrt(max(s - difference * difference, 0.0))) ** 2 / distance**2)


def interval_dict(values: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0) -> dict:
    """{"mean", "low", "high", "n"} for one metric of one model, ready to store as JSON."""
    low, high = mean_interval(values, level=level, resamples=resamples, seed=seed)
    return {"mean": float(np.mean(values)), "low": low, "high": high, "n": len(values)}


def _binary(data: np.ndarray) -> bool:
    return bool(np.all((data == 0) | (data == 1)))


def _z(level: float) -> float:
    return NormalDist().inv_cdf((1 + level) / 2)


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
