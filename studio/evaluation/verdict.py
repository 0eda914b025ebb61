"""The decision: is the fine-tune worth shipping, compared with the best prompting baseline?

Ship when the tuned model beats the best baseline on the held-out set by at least the
project's margin (5 points by default) and the 95% interval of the paired difference
lies above zero (the seeds' rule). Do not ship when the whole interval lies below the
margin: the gain is too small to be worth it, or there is none. Otherwise the verdict is
"not yet" (not proven), and it names a way out: about how many more test examples would
decide, and cross-validation where the project's own examples would be enough. Every
verdict says the smallest difference the held-out set can resolve (80% power, at the two
models' observed disagreement; studio/evaluation/significance.py).

Before any of that, the verdict says what makes the numbers moot: tuned answers that
break the project's format (counted), a run cut short by its max-steps setting, and a
template round trip whose merged model does not answer as the adapter did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from studio.evaluation.metrics import field_judgements
from studio.evaluation.significance import (
    examples_needed,
    mcnemar,
    paired_difference,
    paired_field_difference,
    resolvable_difference,
)
from studio.project.formats import OutputSpec, validate_output
from studio.training.trainer import TrainConfig, total_steps

TUNED = "tuned"
BINARY_METRICS = ("exact_match",)
FOLDS = 5  # the cross-validation the verdict proposes (`studio eval RUN --folds 5`)
METRIC_WORDS = {"exact_match": "exact match", "field_accuracy": "field accuracy", "chrf": "chrF", "rouge_l": "ROUGE-L"}


@dataclass(frozen=True)
class Verdict:
    """The decision in plain words: what to do with the fine-tune, and why."""

    decision: str  # "ship", "not yet", "do not ship" or "unknown"
    headline: str  # one sentence with the difference and its interval
    warnings: tuple[str, ...] = ()  # what makes the numbers moot, said first
    next_steps: tuple[str, ...] = ()  # what to do next, most useful first
    caveat: str = ""  # non-empty when the baselines saw no task description
    resolution: str = ""  # the smallest difference the held-out set can resolve, and the models' disagreement

    def to_dict(self) -> dict:
        return {**asdict(self), "warnings": list(self.warnings), "next_steps": list(self.next_steps)}


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
    if metric == "field_accuracy":
        return _field_comparison(predictions, best, ids)
    comparison = {"baseline": best, "metric": metric, "n": len(ids), **paired_difference(a, b)}
    gaps = [x - y for x, y in zip(a, b)]
    comparison.update(
        spread=sum(g * g for g in gaps) / len(gaps),  # the discordant rate, for 0/1 scores
        disagreement=sum(g != 0 for g in gaps) / len(gaps),
        judgements=len(ids),
    )
    if metric in BINARY_METRICS:
        comparison["mcnemar"] = mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b])
    return comparison


def _field_comparison(predictions: list[dict], best: str, ids: list) -> dict:
    """JSON answers: every expected field a paired judgement, pooled over the examples, bootstrapped by example."""
    judged = {
        (p["model"], p["example_id"]): field_judgements(p["expected"], p["output"])
        for p in predictions
        if p["model"] in (TUNED, best)
    }
    pairs = [(judged[(TUNED, i)], judged[(best, i)]) for i in ids]
    right_a = [sum(a) for a, _ in pairs]
    right_b = [sum(b) for _, b in pairs]
    fields = [len(a) for a, _ in pairs]
    mean_fields = sum(fields) / len(fields)
    gaps = [(x - y) / mean_fields for x, y in zip(right_a, right_b)]  # per example, in units of the pooled share
    return {
        "baseline": best,
        "metric": "field_accuracy",
        "n": len(ids),
        **paired_field_difference(right_a, right_b, fields),
        "spread": sum(g * g for g in gaps) / len(gaps),
        "disagreement": sum(x != y for a, b in pairs for x, y in zip(a, b)) / sum(fields),
        "judgements": sum(fields),
    }


@dataclass(frozen=True)
class RunHealth:
    """What can make a run's scores moot, read before the scores themselves."""

    answered: int = 0  # tuned answers to the held-out examples
    broken: int = 0  # of them, answers that break the project's output format
    not_json: int = 0  # of those, answers that are not JSON at all (JSON projects only)
    format_kind: str = "text"
    steps: int = 0  # optimizer steps the run trained
    planned_steps: int = 0  # the steps its epochs would have taken without a max-steps cap
    round_trip: dict | None = None

    @property
    def none_valid(self) -> bool:
        return self.answered > 0 and self.broken == self.answered

    @property
    def cut_short(self) -> bool:
        return 0 < self.steps < self.planned_steps


def run_health(predictions: list[dict], spec: OutputSpec, run: dict, round_trip: dict | None = None) -> RunHealth:
    """Format breaks among the tuned answers, the max-steps cap, and the round trip, of one run."""
    outputs = [p["output"] for p in predictions if p["model"] == TUNED]
    problems = [validate_output(spec, output) for output in outputs]
    train = TrainConfig(**run["config"]["train"])
    return RunHealth(
        answered=len(outputs),
        broken=sum(p is not None for p in problems),
        not_json=sum(
            bool(p) and p.startswith("not valid JSON") or bool(p) and p.startswith("not readable as JSON")
            for p in problems
        ),
        format_kind=spec.kind,
        steps=total_steps(run["n_train"], train),
        planned_steps=total_steps(run["n_train"], replace(train, max_steps=0)),
        round_trip=round_trip,
    )


def warnings(health: RunHealth) -> list[str]:
    """What to know before reading the scores, most important first."""
    said = []
    if health.broken:
        share = "None" if health.none_valid else f"{health.answered - health.broken}"
        what = f" ({health.not_json} not valid JSON)" if health.not_json else ""
        said.append(
            f"{share} of the tuned model's {health.answered} answers fit{'s' * (share == '1')} the project's "
            f"{health.format_kind} format: {health.broken} break it{what}. Scores of broken answers count as wrong."
        )
    if health.cut_short:
        said.append(
            f"The run was cut short: it trained {health.steps} step{'s' * (health.steps != 1)}, capped by its max-steps setting, "
            f"of the {health.planned_steps} its epochs take."
        )
    said.extend(round_trip_warnings(health.round_trip))
    return said


def round_trip_warnings(trip: dict | None) -> list[str]:
    """The template round trip in words, only when something is wrong with it."""
    if not trip:
        return []
    if "error" in trip:
        return [f"The template round-trip check could not run: {trip['error']}."]
    said = []
    if not trip["template_ok"]:
        said.append(
            "Template round trip failed: the merged model, saved and loaded again as a server would, did not end "
            "its answers with the end-of-sequence token, or lost the chat template the adapter was trained with. "
            "A model served from the merged folder may ramble or answer differently."
        )
    if trip["checked"] and trip["matches"] < trip["checked"]:
        said.append(
            f"The merged model answered {trip['checked'] - trip['matches']} of {trip['checked']} checked examples "
            "differently from the adapter (rounding the merged weights can change a token here and there)."
        )
    return said


NO_INSTRUCTIONS = (
    "The baselines had no instructions: the project has no task description and the held-out examples no system "
    "message, so the prompted models were not told the task (or its labels or format). Write the description "
    "(Project page or `studio project set --description`) for a fair baseline."
)


@dataclass(frozen=True)
class RunFacts:
    """What the verdict's advice needs of the run itself."""

    run_id: str = "RUN"
    seconds: float | None = None  # its measured training and evaluation time, for the cost of cross-validation


def decide(
    comparison: dict | None,
    margin: float,
    weak: list[dict],
    open_contradictions: int,
    trained: int,
    health: RunHealth = RunHealth(),
    instructed: bool = True,
    facts: RunFacts = RunFacts(),
) -> Verdict:
    """A verdict in plain words: decision, headline, what to know first (warnings), and what to do next.

    `trained` is the number of examples the run trained on (the run's, not the project's
    today). `instructed` False says the baselines saw no task description, so their scores
    are not a fair bar: the verdict says so first (`caveat`)."""
    caveat = "" if instructed else NO_INSTRUCTIONS
    verdict = _decide(comparison, margin, weak, open_contradictions, trained, health, facts)
    if caveat:
        verdict = replace(verdict, next_steps=(caveat, *verdict.next_steps))
    return replace(verdict, caveat=caveat)


def _decide(
    comparison: dict | None,
    margin: float,
    weak: list[dict],
    open_contradictions: int,
    trained: int,
    health: RunHealth,
    facts: RunFacts,
) -> Verdict:
    said = warnings(health)
    if health.none_valid:
        return Verdict(
            "do not ship",
            f"Do not ship: none of the tuned model's {health.answered} answers fits the {health.format_kind} "
            f"format{f' ({health.not_json} are not valid JSON)' if health.not_json else ''}.",
            tuple(said[1:]),
            tuple(_broken_format_steps(health, open_contradictions)),
            resolution=resolution(comparison) if comparison else "",
        )
    if comparison is None:
        return Verdict("unknown", "No comparison yet: the run needs the tuned model and a baseline.", tuple(said))
    decision, headline = _headline(comparison, margin)
    steps = _next_steps(decision, comparison, weak, open_contradictions, trained)
    if decision == "not yet":
        steps[:0] = ways_out(comparison, margin, trained, facts)
    if health.cut_short and decision != "ship":
        steps.insert(
            0, f"Train the full {health.planned_steps} steps (set max steps to 0) before judging the fine-tune."
        )
    return Verdict(decision, headline, tuple(said), tuple(steps), resolution=resolution(comparison))


def _headline(comparison: dict, margin: float) -> tuple[str, str]:
    """The decision by the seeds' rule plus the equivalence case, in one sentence."""
    points, low, high = (100 * comparison[k] for k in ("difference", "low", "high"))
    bar = f"{100 * margin:.0f}-point margin"
    span = f"{_gap(points, comparison)} (95% interval {low:+.1f} to {high:+.1f})"
    if points >= 100 * margin and low > 0:
        return "ship", f"Ship it: the fine-tune scores {span}, at least the {bar}."
    if high < 0:
        return "do not ship", f"Do not ship: the fine-tune scores {span}; the prompted baseline is better."
    if high < 100 * margin:
        return "do not ship", (
            f"Do not ship: the fine-tune scores {span}; even the interval's top stays under the {bar}, "
            "so any gain is too small to be worth it."
        )
    if low > 0:
        return "not yet", f"Not proven: the fine-tune scores {span}; better, but not yet by the {bar}."
    return "not yet", f"Not proven: the fine-tune scores {span}; the interval includes no difference."


def _gap(points: float, comparison: dict) -> str:
    """ "12.3 points of exact match above the base model with 3 retrieved examples", or below, or the same."""
    metric, against = (
        METRIC_WORDS.get(comparison["metric"], comparison["metric"]),
        baseline_words(comparison["baseline"]),
    )
    if round(points, 1) == 0:
        return f"the same {metric} as {against}"
    return f"{abs(points):.1f} points of {metric} {'above' if points > 0 else 'below'} {against}"


def baseline_words(name: str) -> str:
    """A baseline's name in words: "baseline-3shot" is the base model with 3 retrieved examples."""
    if name == "baseline-0shot":
        return "the base model prompted without examples"
    if name.startswith("baseline-") and name.endswith("shot"):
        return f"the base model with {name[len('baseline-') : -len('shot')]} retrieved examples"
    if name.startswith("endpoint:"):
        return f"{name[len('endpoint:') :]} (endpoint) with retrieved examples"
    return name


def resolution(comparison: dict) -> str:
    """The smallest difference this held-out set resolves at 80% power, at the models' observed disagreement."""
    n, judged = comparison["n"], comparison.get("judgements", comparison["n"])
    smallest = 100 * resolvable_difference(n, comparison.get("spread", 0.0))
    unit = f"{judged} fields of {n} answers" if judged != n else f"{n} answers"
    return (
        f"{n} held-out examples resolve a difference of about {smallest:.0f} points (80% power): the two models "
        f"disagree on {comparison.get('disagreement', 0.0):.0%} of the {unit}."
    )


def ways_out(comparison: dict, margin: float, trained: int, facts: RunFacts) -> list[str]:
    """What would turn "not proven" into a decision: more test examples, or cross-validation."""
    n, d = comparison["n"], comparison["difference"]
    distance = (
        d if d >= margin else margin - d
    )  # the bar the interval must clear: zero above the margin, else the margin
    if distance < 0.005:
        return [
            f"The difference sits at the {100 * margin:.0f}-point margin: no practical number of test examples "
            "would decide; judge on the slices and the side-by-side answers."
        ]
    needed = examples_needed(distance, comparison.get("spread", 0.0), d)
    more = max(needed - n, 1)
    steps = [f"Add about {more} test examples ({needed} held out in all) to decide at 80% power."]
    pooled = n + trained
    if pooled >= 2 * n:
        reach = (
            "enough to decide" if pooled >= needed else f"{pooled / n:.0f} times as many as now, a narrower interval"
        )
        cost = f" (about {FOLDS * facts.seconds / 60:.0f} minutes here)" if facts.seconds else ""
        steps.append(
            f"Or cross-validate: `studio eval {facts.run_id} --folds {FOLDS}` trains {FOLDS} adapters and judges all "
            f"{pooled} examples, {reach}{cost}."
        )
    return steps


def _broken_format_steps(health: RunHealth, contradictions: int) -> list[str]:
    """A model that never answered in the format has not learned the task yet: more examples are not the cure."""
    steps = []
    if health.cut_short:
        steps.append(
            f"Train the full {health.planned_steps} steps (set max steps to 0): {health.steps} steps are rarely "
            "enough to learn the format."
        )
    else:
        steps.append(
            "Train longer (more epochs) or with a higher learning rate: the model has not learned the format yet."
        )
    steps.append(
        "Read a few answers under Side by side: a cut-off answer means the max length is too short; "
        "another shape of answer means the examples do not all follow the format (the Quality page checks them)."
    )
    if contradictions:
        steps.append(
            f"Resolve the {contradictions} open contradiction(s) on the Quality page: they teach the model noise."
        )
    return steps


def _next_steps(decision: str, comparison: dict, weak: list[dict], contradictions: int, trained: int) -> list[str]:
    steps = []
    if decision == "ship":
        return ["Check the side-by-side failures and the confidence bands before deploying."]
    if weak:
        names = ", ".join(f"{row['slice']} ({row['score']:.2f} on {row['n']})" for row in weak)
        steps.append(f"Add examples where the tuned model is weakest: {names}.")
    if contradictions:
        steps.append(
            f"Resolve the {contradictions} open contradiction(s) on the Quality page: they teach the model noise."
        )
    if trained < 100:
        steps.append(f"The run trained on {trained} examples: 100 to 500 careful examples usually give real gains.")
    elif trained < 500:
        steps.append(f"The run trained on {trained} examples: more careful ones, up to about 500, usually still help.")
    return steps
