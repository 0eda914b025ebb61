"""The decision: is the fine-tune worth shipping, compared with the best prompting baseline?

Ship when the tuned model beats the best baseline on the held-out set by at least the
project's margin (5 points by default) and the 95% interval of the paired difference
lies above zero. Otherwise say plainly what is missing.
"""

from __future__ import annotations

from studio.significance import mcnemar, paired_difference

TUNED = "tuned"
BINARY_METRICS = ("exact_match",)


def compare_with_best_baseline(predictions: list[dict], metric: str) -> dict | None:
    """Paired comparison of the tuned model with the baseline that scores best on `metric`."""
    by_model: dict[str, dict] = {}
    for row in predictions:
        by_model.setdefault(row["model"], {})[row["example_id"]] = row["scores"].get(metric, 0.0)
    tuned = by_model.pop(TUNED, None)
    if not tuned or not by_model:
        return None
    best = max(sorted(by_model), key=lambda name: sum(by_model[name].values()) / len(by_model[name]))
    ids = sorted(set(tuned) & set(by_model[best]))
    a, b = [tuned[i] for i in ids], [by_model[best][i] for i in ids]
    comparison = {"baseline": best, "metric": metric, "n": len(ids), **paired_difference(a, b)}
    if metric in BINARY_METRICS:
        comparison["mcnemar"] = mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b])
    return comparison


NO_INSTRUCTIONS = (
    "The baselines had no instructions: the project has no task description and the held-out examples no system "
    "message, so the prompted models were not told the task (or its labels or format). Write the description "
    "(Project page or `studio project set --description`) for a fair baseline."
)


def decide(comparison: dict | None, margin: float, weak: list[dict], open_contradictions: int, approved: int,
           instructed: bool = True) -> dict:
    """A verdict in plain words: decision, headline, and what to do next.

    `instructed` False says the baselines saw no task description, so their scores are
    not a fair bar: the verdict says so first (`caveat`)."""
    caveat = "" if instructed else NO_INSTRUCTIONS
    verdict = _decide(comparison, margin, weak, open_contradictions, approved)
    if caveat:
        verdict["next_steps"] = [caveat, *verdict["next_steps"]]
    return {**verdict, "caveat": caveat}


def _decide(comparison: dict | None, margin: float, weak: list[dict], open_contradictions: int, approved: int) -> dict:
    if comparison is None:
        return {"decision": "unknown", "headline": "No comparison yet: the run needs the tuned model and a baseline.", "next_steps": []}
    points, low, high = (100 * comparison[k] for k in ("difference", "low", "high"))
    span = f"{points:+.1f} points of {comparison['metric']} (95% interval {low:+.1f} to {high:+.1f}) over {comparison['baseline']}"
    if points >= 100 * margin and low > 0:
        decision, headline = "ship", f"Ship it: the fine-tune wins by {span}."
    elif high < 0:
        decision, headline = "do not ship", f"Do not ship: the prompted baseline is better, {span}."
    elif low > 0:
        decision, headline = "not yet", f"Better, but not by the {100 * margin:.0f}-point margin: {span}."
    else:
        decision, headline = "not yet", f"Not proven: {span}; the interval includes no difference."
    return {"decision": decision, "headline": headline, "next_steps": _next_steps(decision, comparison, weak, open_contradictions, approved)}


def _next_steps(decision: str, comparison: dict, weak: list[dict], contradictions: int, approved: int) -> list[str]:
    steps = []
    if decision == "ship":
        return ["Check the side-by-side failures and the confidence bands before deploying."]
    if weak:
        names = ", ".join(f"{row['slice']} ({row['score']:.2f} on {row['n']})" for row in weak)
        steps.append(f"Add examples where the tuned model is weakest: {names}.")
    if contradictions:
        steps.append(f"Resolve the {contradictions} open contradiction(s) on the Quality page: they teach the model noise.")
    if approved < 500:
        steps.append(f"{approved} approved examples: 100 to 500 careful examples usually give real gains; more help.")
    if comparison["n"] < 50:
        steps.append(f"Only {comparison['n']} held-out examples: the interval is wide; more examples narrow it.")
    return steps
