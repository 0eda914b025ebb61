"""Label projects are answered by scoring every label: the answer is always one of the labels, its
confidence is its share of the probability over the label set, and the scores are exactly what a
plain forward pass over prompt and label gives."""

from __future__ import annotations

import json
import math

import pytest

from studio.models.generation import answer_in_format, label_continuations, prompt_token_ids, score_labels
from studio.models.prompts import prompt_messages

# Labels of different token lengths, two sharing their first tokens, one a single word.
LABELS = ["billing", "billing_dispute", "hardware_fault", "refund request", "other"]
SYSTEM = (
    "You route support tickets for a small hardware company. Answer with exactly one of these labels: "
    + ", ".join(LABELS)
    + ". Nothing else, no explanation, no punctuation."
)
TEXTS = ["my card was charged twice", "the router will not power on", "I want my money back", "hello?", "bill wrong"]


def conversations(texts=TEXTS) -> list[list[dict]]:
    return [prompt_messages(SYSTEM, [{"role": "user", "content": text}]) for text in texts]


def load(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def forward_log_prob(model, prompt: list[int], continuation: list[int]) -> float:
    """log p(continuation | prompt) from one forward pass over both, no cache."""
    import torch

    ids = torch.tensor([prompt + continuation])
    with torch.inference_mode():
        log_probs = model(input_ids=ids).logits[0, len(prompt) - 1 : -1].float().log_softmax(-1)
    return log_probs.gather(1, torch.tensor(continuation)[:, None]).sum().item()


def test_every_answer_is_a_label_and_the_confidences_are_shares_of_one(tiny_llama):
    model, tokenizer = load(tiny_llama)
    answers = score_labels(model, tokenizer, conversations(), LABELS)
    assert len(answers) == len(TEXTS)
    for answer in answers:
        assert answer["output"] in LABELS
        shares = answer["label_probabilities"]
        assert list(shares) == LABELS and sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
        assert answer["confidence"] == pytest.approx(max(shares.values())) == shares[answer["output"]]
        assert answer["latency_s"] > 0 and answer["new_tokens"] >= 1


def test_label_scores_equal_a_plain_forward_pass_over_prompt_and_label(tiny_llama):
    """The cached, batched scoring (shared prefix read once, labels batched on a copy of the prompt's
    cache, right padding) gives each label the probability a plain forward pass gives it."""
    model, tokenizer = load(tiny_llama)
    answers = score_labels(model, tokenizer, conversations(), LABELS)
    for conversation, prompt, answer in zip(conversations(), prompt_token_ids(tokenizer, conversations()), answers):
        continuations = label_continuations(tokenizer, conversation, prompt, LABELS)
        assert len({len(c) for c in continuations}) > 1  # padding is exercised
        assert all(c[-1] == tokenizer.eos_token_id for c in continuations)  # the end of the answer is scored too
        logs = [forward_log_prob(model, prompt, c) for c in continuations]
        top = max(logs)
        expected = [math.exp(x - top) / sum(math.exp(y - top) for y in logs) for x in logs]
        assert list(answer["label_probabilities"].values()) == pytest.approx(expected, abs=1e-4)
        assert answer["output"] == LABELS[logs.index(top)]


def test_reading_the_shared_prefix_once_changes_no_score(tiny_llama):
    model, tokenizer = load(tiny_llama)
    reused = score_labels(model, tokenizer, conversations(), LABELS, reuse_prefix=True)
    plain = score_labels(model, tokenizer, conversations(), LABELS, reuse_prefix=False)
    for a, b in zip(reused, plain):
        assert a["output"] == b["output"]
        assert list(a["label_probabilities"].values()) == pytest.approx(
            list(b["label_probabilities"].values()), abs=1e-4
        )


def test_a_label_project_is_scored_and_a_text_project_generated(tiny_llama):
    model, tokenizer = load(tiny_llama)
    labelled = answer_in_format(model, tokenizer, conversations(), {"kind": "labels", "labels": LABELS}, 8)
    free = answer_in_format(model, tokenizer, conversations(), {"kind": "text"}, 8)
    assert all(a["output"] in LABELS and "label_probabilities" in a for a in labelled)
    assert all("label_probabilities" not in a for a in free)


@pytest.mark.slow
def test_the_packaged_model_and_its_adapted_self_always_answer_a_label(default_model):
    """On the real instruct model, with a LoRA adapter on and off (how the tuned model and the
    baselines answer), every answer is a label, where free generation often is not."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load(default_model)
    tuned = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    with_adapter = score_labels(tuned, tokenizer, conversations(), LABELS)
    with tuned.disable_adapter():
        without = score_labels(tuned, tokenizer, conversations(), LABELS)
    for answers in (with_adapter, without):
        assert all(a["output"] in LABELS for a in answers)
        assert all(sum(a["label_probabilities"].values()) == pytest.approx(1.0, abs=1e-6) for a in answers)
    assert [a["label_probabilities"] for a in with_adapter] != [a["label_probabilities"] for a in without]


SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "hardware", "other"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["category", "urgent"],
    "additionalProperties": False,
}


def test_a_json_project_is_decoded_under_its_schema_even_by_a_random_model(tiny_llama):
    """A randomly initialised model writes garbage when free; constrained to the schema, every
    answer that finishes within the budget is valid JSON under it."""
    import jsonschema

    model, tokenizer = load(tiny_llama)
    free = answer_in_format(model, tokenizer, conversations(), {"kind": "text"}, 40)
    constrained = answer_in_format(model, tokenizer, conversations(), {"kind": "json", "schema": SCHEMA}, 40)
    assert not any(_valid(a["output"]) for a in free)
    for answer in constrained:
        jsonschema.validate(json.loads(answer["output"]), SCHEMA)
        assert 0 < answer["confidence"] <= 1


def _valid(text: str) -> bool:
    import jsonschema

    try:
        jsonschema.validate(json.loads(text), SCHEMA)
        return True
    except (ValueError, jsonschema.ValidationError):
        return False
