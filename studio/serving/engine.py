"""The served model of a run, and the one function that answers conversations with it.

`answer_conversations` is the single place where serving meets the studio's decoding:
it calls the same decoding that answered the held-out set at evaluation
(studio.models.generation.answer_in_format: labels scored by likelihood, JSON decoded under its
schema, else greedy; on the base the run trained on, with its adapter), so what is served
is what was measured.

A run trained with retrieved examples (TrainConfig.retrieved_examples) is served with them: a
`Retriever` embeds each request with the packaged embedder and puts the k nearest of the run's
frozen training examples into the prompt, as evaluation did for "tuned + k retrieved".

Each answer carries its confidence and its routing band (auto / review / human) at the
two thresholds of studio.evaluation.routing.RoutingConfig.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from studio.evaluation.routing import RoutingConfig
from studio.jsonl import read_jsonl
from studio.models.prompts import prompt_messages, retrieve_few_shot
from studio.models.retrieval import with_shots
from studio.training.run_config import CONFIG_FILE, RunConfig

AUTO, REVIEW, HUMAN = "auto", "review", "human"
BANDS = (AUTO, REVIEW, HUMAN)


@dataclass(frozen=True)
class Answer:
    """One generated answer, as the server returns it."""

    text: str
    confidence: float
    band: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" when the model ended the answer, "length" when the budget did


@dataclass(frozen=True)
class ServedRun:
    """What serving needs to know about a finished run, read from its folder."""

    run_id: str
    project: str
    model_name: str  # the id clients ask for: project and run
    run_dir: Path
    model_path: str
    system_prompt: str
    trust_remote_code: bool
    output_kind: str
    batch_size: int  # prompts per generate call, as evaluation batched them
    output_spec: dict | None = None  # the project's format, which decides the decoding
    quantized: bool = True  # the run trained on a 4-bit base (QLoRA), not the CPU recipe's full-precision one
    retrieved_examples: int = 0  # k: the run trained (and is served) with k retrieved training examples per prompt

    @property
    def adapter_dir(self) -> Path:
        return self.run_dir / "adapter"


def served_run(run_dir: Path) -> ServedRun:
    """The run in `run_dir`, refused with a clear message unless it left an adapter."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no {CONFIG_FILE})")
    config = RunConfig.read(run_dir)
    if not (run_dir / "adapter" / "adapter_config.json").exists():
        raise FileNotFoundError(f"run {config.run_id} has no adapter in {run_dir / 'adapter'}: did it finish?")
    return ServedRun(
        run_id=config.run_id,
        project=config.project,
        model_name=model_name(config.project, config.run_id),
        run_dir=run_dir,
        model_path=config.model_path,
        system_prompt=config.system_prompt or "",
        trust_remote_code=config.trust_remote_code,
        output_kind=config.output_spec.get("kind", "text"),
        batch_size=config.eval.batch_size or 16,
        output_spec=config.output_spec,
        quantized=_trained_quantized(config),
        retrieved_examples=max(0, config.train.retrieved_examples),
    )


def _trained_quantized(config: RunConfig) -> bool:
    from studio.models.loading import quantized_for

    return quantized_for(config.train.cpu_recipe)


def model_name(project: str, run_id: str) -> str:
    """A name safe in URLs, Ollama tags and vLLM's --lora-modules: the project's slug and the run id."""
    slug = re.sub(r"[^a-z0-9]+", "-", project.lower()).strip("-") or "project"
    return f"{slug}-{run_id}"


def band_of(confidence: float, routing: RoutingConfig) -> str:
    """auto at or above routing.high, review at or above routing.low, human below (as studio.evaluation.routing bands)."""
    if confidence >= routing.high:
        return AUTO
    return REVIEW if confidence >= routing.low else HUMAN


def with_system_prompt(run: ServedRun, messages: list[dict], shots: list[dict] = ()) -> list[dict]:
    """The conversation as the model saw it at evaluation: the project's task description as the
    system prompt, unless the client sent its own; then the retrieved `shots`' turns, if any, before the input."""
    if any(m["role"] == "system" for m in messages):
        return with_shots(list(messages), list(shots))
    return prompt_messages(run.system_prompt, messages, list(shots))


def candidate_name(run: ServedRun) -> str:
    """The leaderboard candidate this run serves: "tuned", or "tuned + k retrieved" for a run trained with retrieval."""
    from studio.evaluation.answering import tuned_name

    return tuned_name(run.retrieved_examples)


class Retriever:
    """The run's frozen training examples (train.jsonl), and for a request the k of them evaluation would show.

    The same retrieval as evaluation's "tuned + k retrieved" (studio.models.prompts.retrieve_few_shot:
    the packaged embedder, nearest last). Request threads share one embedder, so calls take a lock.
    """

    def __init__(self, run: ServedRun):
        self.k = run.retrieved_examples
        self.pool = read_jsonl(run.run_dir / "train.jsonl") if self.k else []
        self._lock = threading.Lock()
        self.shots([{"role": "user", "content": "warm up"}])  # embeds the pool once, before the first request

    def shots(self, messages: list[dict]) -> list[dict]:
        if not self.k or not self.pool:
            return []
        with self._lock:
            return retrieve_few_shot(self.pool, [{"messages": messages}], self.k)[0]


def load_served_model(run: ServedRun):
    """The base the run trained on with the run's adapter, and the adapter's tokenizer: the evaluated model."""
    from peft import PeftModel

    from studio.models.loading import load_base, load_tokenizer

    tokenizer = load_tokenizer(str(run.adapter_dir), run.trust_remote_code)
    base = load_base(run.model_path, run.quantized, run.trust_remote_code)
    model = PeftModel.from_pretrained(base, str(run.adapter_dir))
    model.eval()
    return model, tokenizer


def default_max_tokens(run: ServedRun, tokenizer) -> int:
    """The answer budget evaluation used for this run, so an answer is cut where it was cut there."""
    from studio.evaluation.answering import _answer_budget

    return RunConfig.read(run.run_dir).eval.max_new_tokens or _answer_budget(
        tokenizer, read_jsonl(run.run_dir / "train.jsonl")
    )


def count_prompt_tokens(tokenizer, conversation: list[dict]) -> int:
    """The prompt's length in tokens, through the chat template, as generation will see it."""
    from studio.models.generation import prompt_token_ids

    return len(prompt_token_ids(tokenizer, [conversation])[0])


def answer_conversations(
    model,
    tokenizer,
    conversations: list[list[dict]],
    max_new_tokens: int,
    routing: RoutingConfig = RoutingConfig(),
    batch_size: int = 16,
    output_spec: dict | None = None,
) -> list[Answer]:
    """Answer each conversation (already with its system prompt) in the project's format, as evaluation did."""
    from studio.models.generation import answer_in_format, prompt_token_ids

    if not conversations:
        return []
    lengths = [len(ids) for ids in prompt_token_ids(tokenizer, conversations)]
    answers = answer_in_format(model, tokenizer, conversations, output_spec, max_new_tokens, batch_size)
    return [
        Answer(
            text=answer["output"],
            confidence=float(answer["confidence"]),
            band=band_of(answer["confidence"], routing),
            prompt_tokens=length,
            completion_tokens=answer["new_tokens"],
            finish_reason="length" if answer["new_tokens"] >= max_new_tokens else "stop",
        )
        for answer, length in zip(answers, lengths)
    ]
