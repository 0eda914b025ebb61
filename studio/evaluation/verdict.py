"""The decision: is the fine-tune worth shipping, compared with the best prompting baseline?

Ship when the tuned model beats the best baseline on the held-out set by at least the
project's margin (5 points by default) and the 95% interval of the paired difference
lies above zero. Otherwise say plainly what is missing.

Before any of that, the verdict says what makes the numbers moot: tuned answers that
break the project's format (counted), a run cut short by its max-steps setting, and a
template round trip whose merged model does not answer as the adapter did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from studio.evaluation.significance import mcnemar, paired_difference
from studio.project.formats import OutputSpec, validate_output
from studio.training.trainer import TrainConfig, total_steps

TUNED = "tuned"
BINARY_METRICS = ("exact_match",)


@dataclass(frozen=True)
class Verdict:
    """The decision in plain words: what to do with the fine-tune, and why."""

    decision: str  # "ship", "not yet", "do not ship" or "unknown"
    headline: str  # one sentence with the difference and its interval
    warnings: tuple[str, ...] = ()  # what makes the numbers moot, said first
    next_steps: tuple[str, ...] = ()  # what to do next, most useful first
    caveat: str = ""  # non-empty when the baselines saw no task description

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
    comparison = {"baseline": best, "metric": metric, "n": len(ids), **paired_difference(a, b)}
    if metric in BINARY_METRICS:
        comparison["mcnemar"] = mcnemar([x == 1.0 for x in a], [x == 1.0 for x in b])
    return comparison


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


def decide(
    comparison: dict | None,
    margin: float,
    weak: list[dict],
    open_contradictions: int,
    approved: int,
    health: RunHealth = RunHealth(),
    instructed: bool = True,
) -> Verdict:
    """A verdict in plain words: decision, headline, what to know first (warnings), and what to do next.

    `instructed` False says the baselines saw no task description, so their scores are
    not a fair bar: the verdict says so first (`caveat`)."""
    caveat = "" if instructed else NO_INSTRUCTIONS
    verdict = _decide(comparison, margin, weak, open_contradictions, approved, health)
    if caveat:
        verdict = replace(verdict, next_steps=(caveat, *verdict.next_steps))
    return replace(verdict, caveat=caveat)


def _decide(
    comparison: dict | None, margin: float, weak: list[dict], open_contradictions: int, approved: int, health: RunHealth
) -> Verdict:
    said = warnings(health)
    if health.none_valid:
        return Verdict(
            "do not ship",
            f"Do not ship: none of the tuned model's {health.answered} answers fits the {health.format_kind} "
            f"format{f' ({health.not_json} are not valid JSON)' if health.not_json else ''}.",
            tuple(said[1:]),
            tuple(_broken_format_steps(health, open_contradictions)),
        )
    if comparison is None:
        return Verdict("unknown", "No comparison yet: the run needs the tuned model and a baseline.", tuple(said))
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
    steps = _next_steps(decision, comparison, weak, open_contradictions, approved)
    if health.cut_short and decision != "ship":
        steps.insert(
            0, f"Train the full {health.planned_steps} steps (set max steps to 0) before judging the fine-tune."
        )
    return Verdict(decision, headline, tuple(said), tuple(steps))


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


def _next_steps(decision: str, comparison: dict, weak: list[dict], contradictions: int, approved: int) -> list[str]:
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
    if approved < 500:
        steps.append(f"{approved} approved examples: 100 to 500 careful examples usually give real gains; more help.")
    if comparison["n"] < 50:
        steps.append(f"Only {comparison['n']} held-out examples: the interval is wide; more examples narrow it.")
    return steps
