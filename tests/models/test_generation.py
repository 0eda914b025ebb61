"""Batched greedy generation gives the same answers, and the same confidences, as one prompt at a time,
with or without reading the prompts' shared prefix once."""

from __future__ import annotations

import math

import pytest

from studio.models.generation import (
    MIN_SHARED_PREFIX,
    ChosenTokenLogProbs,
    answer_confidence,
    generate_answers,
    generate_batch,
    prompt_token_ids,
    shared_prefix,
)
from studio.models.prompts import prompt_messages

TEXTS = ["hi", "my NAS-200 will not boot after the update, please help", "refund?"]
# Long enough that every prompt built on it shares more than MIN_SHARED_PREFIX tokens.
LONG_SYSTEM = (
    "You answer support tickets for a small hardware company. Name the product, say what to try "
    "first, and keep to two sentences. Never promise a refund; point to the returns page instead."
)
MIXED = TEXTS + ["the fan on my router is loud " * 6, "ok"]


def conversations(texts=TEXTS, system: str = "Answer briefly.") -> list[list[dict]]:
    return [prompt_messages(system, [{"role": "user", "content": text}]) for text in texts]


def load_tiny(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def stop_after(model, tokenizer, conversation: list[dict], step: int) -> None:
    """Make the model end `conversation` at `step`: the end-of-sequence token takes over the
    output row of the token it would choose there (a tie that argmax breaks towards the lower
    id), while answers that never choose that token run on to the budget."""
    import torch

    encoded = tokenizer(
        [tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)],
        return_tensors="pt",
        add_special_tokens=False,
    )
    new, _ = generate_batch(model, tokenizer, encoded, step + 1)
    token = new[0, step].item()
    assert token > tokenizer.eos_token_id
    head = model.get_output_embeddings().weight
    with torch.no_grad():
        head[tokenizer.eos_token_id] = head[token]


def teacher_forced_confidence(model, tokenizer, conversation: list[dict], answer_tokens: list[int]) -> float:
    """The same confidence from one forward pass over the prompt and the answer it produced."""
    import torch

    prompt = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + answer_tokens])
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1].float()
    chosen = logits.log_softmax(-1).gather(1, torch.tensor(answer_tokens)[:, None])
    return math.exp(chosen.mean().item())


def test_batched_generation_matches_one_at_a_time(tiny_llama):
    model, tokenizer = load_tiny(tiny_llama)
    batched = generate_answers(model, tokenizer, conversations(), max_new_tokens=8, batch_size=3)
    single = [generate_answers(model, tokenizer, [c], max_new_tokens=8, batch_size=1)[0] for c in conversations()]
    assert [b["output"] for b in batched] == [s["output"] for s in single]
    assert all(b["new_tokens"] > 0 and b["latency_s"] > 0 for b in batched)
    assert all(0 < b["confidence"] <= 1 for b in batched)
    assert [b["confidence"] for b in batched] == pytest.approx([s["confidence"] for s in single], abs=1e-4)


def test_confidence_equals_a_teacher_forced_forward_pass(tiny_llama):
    model, tokenizer = load_tiny(tiny_llama)
    for conversation in conversations():
        encoded = tokenizer(
            [tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)],
            return_tensors="pt",
            add_special_tokens=False,
        )
        new, _ = generate_batch(model, tokenizer, encoded, 6)
        answer = generate_answers(model, tokenizer, [conversation], max_new_tokens=6)[0]
        assert answer["confidence"] == pytest.approx(
            teacher_forced_confidence(model, tokenizer, conversation, new[0].tolist()), abs=1e-5
        )


def test_confidence_stops_at_the_end_of_sequence_token_and_ignores_padding(tiny_llama):
    model, tokenizer = load_tiny(tiny_llama)
    stop_after(model, tokenizer, conversations()[1], step=3)
    batched = generate_answers(model, tokenizer, conversations(), max_new_tokens=10, batch_size=3)
    single = [generate_answers(model, tokenizer, [c], max_new_tokens=10, batch_size=1)[0] for c in conversations()]
    assert [b["new_tokens"] for b in batched] == [10, 3, 10]  # the short answer is padded in its batch
    assert [b["output"] for b in batched] == [s["output"] for s in single]
    assert [b["confidence"] for b in batched] == pytest.approx([s["confidence"] for s in single], abs=1e-4)
    encoded = tokenizer(
        [tokenizer.apply_chat_template(conversations()[1], add_generation_prompt=True, tokenize=False)],
        return_tensors="pt",
        add_special_tokens=False,
    )
    through_eos = generate_batch(model, tokenizer, encoded, 10)[0][0].tolist()
    assert through_eos[-1] == tokenizer.eos_token_id
    expected = teacher_forced_confidence(model, tokenizer, conversations()[1], through_eos)
    assert batched[1]["confidence"] == pytest.approx(expected, abs=1e-5)


def perturbed_peft(tiny_llama):
    """The tiny Llama under a LoRA adapter whose B weights are nudged, so it changes answers."""
    import torch
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load_tiny(tiny_llama)
    tuned = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM"))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, weight in tuned.named_parameters():
            if "lora_B" in name:
                weight.normal_(std=0.05)
    return tuned, tokenizer


def test_confidence_on_a_peft_model_matches_its_forward_pass(tiny_llama):
    tuned, tokenizer = perturbed_peft(tiny_llama)
    batched = generate_answers(tuned, tokenizer, conversations(), max_new_tokens=6, batch_size=3)
    for conversation, answer in zip(conversations(), batched):
        encoded = tokenizer(
            [tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)],
            return_tensors="pt",
            add_special_tokens=False,
        )
        new = generate_batch(tuned, tokenizer, encoded, 6)[0][0].tolist()
        assert answer["confidence"] == pytest.approx(
            teacher_forced_confidence(tuned, tokenizer, conversation, new), abs=1e-4
        )


def test_scaled_up_logits_keep_the_answers_and_make_them_certain(tiny_llama):
    import torch

    model, tokenizer = load_tiny(tiny_llama)
    before = generate_answers(model, tokenizer, conversations(), max_new_tokens=6, batch_size=3)
    with torch.no_grad():  # a power of two scales exactly, so no choice can change by rounding
        model.get_output_embeddings().weight.mul_(2.0**30)
    after = generate_answers(model, tokenizer, conversations(), max_new_tokens=6, batch_size=3)
    assert [a["output"] for a in after] == [b["output"] for b in before]
    assert all(b["confidence"] < 0.01 for b in before)  # a random model is unsure of everything
    assert all(a["confidence"] > 0.999 for a in after)


def test_recorded_log_probabilities_of_hand_built_logits():
    import torch

    recorder = ChosenTokenLogProbs()
    scores = torch.tensor([[0.0, 0.0, 60.0], [0.0, 0.0, 0.0], [1.0, -math.inf, 0.0]])
    assert recorder(None, scores) is scores
    log_probs = recorder.stacked()[:, 0].tolist()
    assert log_probs[0] == pytest.approx(0.0, abs=1e-6)  # forced: certain
    assert log_probs[1] == pytest.approx(math.log(1 / 3))
    assert log_probs[2] == pytest.approx(1 - math.log(math.e + 1))


def test_answer_confidence_counts_the_end_of_sequence_token_and_nothing_after():
    eos = 2
    log_probs = [math.log(0.5), math.log(0.8), math.log(0.2), -50.0, -50.0]
    assert answer_confidence([7, 8, eos, eos, eos], log_probs, eos) == pytest.approx((0.5 * 0.8 * 0.2) ** (1 / 3))
    assert answer_confidence([7, 8, 9, 10, 11], [math.log(0.5)] * 5, eos) == pytest.approx(0.5)
    assert answer_confidence([eos, eos], [0.0, -50.0], eos) == 1.0


def test_progress_is_reported_per_batch(tiny_llama):
    model, tokenizer = load_tiny(tiny_llama)
    seen = []
    conversations = [[{"role": "user", "content": f"ticket {i}"}] for i in range(5)]
    generate_answers(model, tokenizer, conversations, 2, batch_size=2, on_batch=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 5), (4, 5), (5, 5)]


def assert_same_answers(with_prefix: list[dict], plain: list[dict]) -> None:
    assert [a["output"] for a in with_prefix] == [p["output"] for p in plain]
    assert [a["new_tokens"] for a in with_prefix] == [p["new_tokens"] for p in plain]
    # A random model's confidences are tiny, so compare them relatively as well as absolutely.
    assert [a["confidence"] for a in with_prefix] == pytest.approx([p["confidence"] for p in plain], rel=1e-4, abs=1e-4)


def embedding_widths(model) -> list[tuple[int, int]]:
    """(rows, tokens) of every forward pass the model makes from now on."""
    seen: list[tuple[int, int]] = []
    model.get_input_embeddings().register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape)))
    return seen


def test_the_shared_prefix_is_the_common_tokens_up_to_one_short_of_the_shortest_prompt():
    head = list(range(100, 100 + MIN_SHARED_PREFIX))
    assert shared_prefix([head + [1, 2, 3], head + [1, 2, 4, 5]]) == head + [1, 2]
    assert shared_prefix([head + [1], head + [1, 2]]) == head  # the shorter keeps its last token to prefill
    assert shared_prefix([head[:-1] + [1], head[:-1] + [2]]) == []  # too short to be worth a pass
    assert shared_prefix([head + [1, 2]]) == []  # one prompt shares with nobody
    assert shared_prefix([]) == []


def test_a_long_system_prompt_is_read_once_and_only_suffixes_are_prefilled(tiny_llama):
    model, tokenizer = load_tiny(tiny_llama)
    prompts = prompt_token_ids(tokenizer, conversations(MIXED, LONG_SYSTEM))
    prefix = shared_prefix(prompts)
    assert len(prefix) >= MIN_SHARED_PREFIX
    widths = embedding_widths(model)
    generate_answers(model, tokenizer, conversations(MIXED, LONG_SYSTEM), max_new_tokens=3, batch_size=len(MIXED))
    longest = max(len(p) for p in prompts)
    assert widths[:3] == [(1, len(prefix)), (len(MIXED), longest - len(prefix)), (len(MIXED), 1)]
    widths.clear()
    generate_answers(model, tokenizer, conversations(MIXED, LONG_SYSTEM), 3, batch_size=len(MIXED), reuse_prefix=False)
    assert widths[0] == (len(MIXED), longest)


@pytest.mark.parametrize("batch_size", [5, 2, 1])
def test_reusing_the_shared_prefix_changes_no_answer(tiny_llama, batch_size):
    model, tokenizer = load_tiny(tiny_llama)
    prompts = conversations(MIXED, LONG_SYSTEM)  # lengths from a few tokens past the prefix to dozens
    with_prefix = generate_answers(model, tokenizer, prompts, max_new_tokens=8, batch_size=batch_size)
    plain = generate_answers(model, tokenizer, prompts, max_new_tokens=8, batch_size=batch_size, reuse_prefix=False)
    single = [generate_answers(model, tokenizer, [c], max_new_tokens=8, batch_size=1)[0] for c in prompts]
    assert_same_answers(with_prefix, plain)
    assert_same_answers(with_prefix, single)


def test_reusing_the_prefix_keeps_an_early_end_of_sequence(tiny_llama):
    model, tokenizer = load_tiny(tiny_llama)
    prompts = conversations(MIXED, LONG_SYSTEM)
    stop_after(model, tokenizer, prompts[1], step=2)
    with_prefix = generate_answers(model, tokenizer, prompts, max_new_tokens=10, batch_size=len(MIXED))
    plain = generate_answers(model, tokenizer, prompts, max_new_tokens=10, batch_size=len(MIXED), reuse_prefix=False)
    assert with_prefix[1]["new_tokens"] == 2
    assert_same_answers(with_prefix, plain)


def test_prompts_without_a_shared_prefix_fall_back_to_plain_generation(tiny_llama):
    model, tokenizer = load_tiny(tiny_llama)
    prompts = [conversations([text], system)[0] for text, system in zip(TEXTS, [LONG_SYSTEM, "Answer briefly.", ""])]
    assert shared_prefix(prompt_token_ids(tokenizer, prompts)) == []
    widths = embedding_widths(model)
    with_prefix = generate_answers(model, tokenizer, prompts, max_new_tokens=6, batch_size=3)
    assert widths[0] == (3, max(len(p) for p in prompt_token_ids(tokenizer, prompts)))
    assert_same_answers(with_prefix, generate_answers(model, tokenizer, prompts, 6, batch_size=3, reuse_prefix=False))


def test_reusing_the_prefix_on_a_peft_model_with_and_without_its_adapter(tiny_llama):
    tuned, tokenizer = perturbed_peft(tiny_llama)
    prompts = conversations(MIXED, LONG_SYSTEM)
    with_prefix = generate_answers(tuned, tokenizer, prompts, max_new_tokens=6, batch_size=3)
    assert_same_answers(with_prefix, generate_answers(tuned, tokenizer, prompts, 6, batch_size=3, reuse_prefix=False))
    with tuned.disable_adapter():  # how the baselines run: the prefix must be read without the adapter too
        base = generate_answers(tuned, tokenizer, prompts, max_new_tokens=6, batch_size=3)
        assert_same_answers(base, generate_answers(tuned, tokenizer, prompts, 6, batch_size=3, reuse_prefix=False))
    assert [b["confidence"] for b in base] != pytest.approx([t["confidence"] for t in with_prefix], rel=1e-4)


DEMO_LIKE_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "technical"]},
        "priority": {"type": "string", "enum": ["low", "high"]},
        "note": {"type": "string"},
        "needs_human": {"type": "boolean"},
    },
}


def test_a_json_answers_confidence_is_the_joint_probability_of_its_decision_fields(default_model):
    """The schema forces braces, keys and quotes; the uncertainty is in the enum and boolean values, and their
    joint probability is the answer's confidence. A free-text field and the forced tokens do not dilute it."""
    from studio.models.constrained import decision_confidence, decision_fields
    from studio.models.loading import load_tokenizer

    tokenizer = load_tokenizer(str(default_model))
    pieces = [  # (text, probability of its first token; the rest follow at probability 1, as a value's tail does)
        ('{"category": ', 1.0),
        ('"billing"', 0.5),
        (', "priority": ', 1.0),
        ('"low"', 0.8),
        (', "note": "call back tomorrow", "needs_human": ', 0.3),
        ("false", 0.9),
        ("}", 1.0),
    ]
    tokens, log_probs = [], []
    for text, probability in pieces:
        ids = tokenizer.encode(text, add_special_tokens=False)
        tokens += ids
        log_probs += [math.log(probability)] + [0.0] * (len(ids) - 1)
    tokens.append(tokenizer.eos_token_id)
    log_probs += [0.0, -5.0]  # the end-of-sequence token, then padding that means nothing
    tokens.append(tokenizer.eos_token_id)
    assert tokenizer.decode(tokens[:-2]) == "".join(text for text, _ in pieces)
    assert decision_fields(DEMO_LIKE_SCHEMA) == ["category", "priority", "needs_human"]
    assert decision_confidence(tokenizer, tokens, log_probs, DEMO_LIKE_SCHEMA) == pytest.approx(0.5 * 0.8 * 0.9)
    assert answer_confidence(tokens, log_probs, tokenizer.eos_token_id) > 0.5  # what the geometric mean would say
    free_text = {"type": "object", "properties": {"note": {"type": "string"}}}
    assert decision_confidence(tokenizer, tokens, log_probs, free_text) is None  # the caller keeps the geometric mean
    cut_short = tokenizer.encode('{"category": "bil', add_special_tokens=False)
    assert decision_confidence(tokenizer, cut_short, [0.0] * len(cut_short), DEMO_LIKE_SCHEMA) is None


def test_the_playground_answers_as_evaluate_does_when_asked(tiny_llama):
    """Held to a label set, both sides answer one of the labels (Evaluate's decoding); free, the base rambles."""
    from studio.models.playground import answer_one, decodes_in_format

    tuned, tokenizer = perturbed_peft(tiny_llama)
    spec = {"kind": "labels", "labels": ["billing", "shipping", "account"]}
    turns = [{"role": "user", "content": "My invoice was charged twice."}]
    for side in (True, False):
        assert (
            answer_one(tuned, tokenizer, "Name the topic.", turns, 16, tuned=side, output_spec=spec) in spec["labels"]
        )
    free = answer_one(tuned, tokenizer, "Name the topic.", turns, 16, tuned=False)
    assert free not in spec["labels"]  # a random model's free text is no label
    assert decodes_in_format(spec) and not decodes_in_format({"kind": "text"})
    assert decodes_in_format({"kind": "json", "schema": {"type": "object"}}) and not decodes_in_format(
        {"kind": "regex"}
    )
