"""Batched greedy generation gives the same answers as one prompt at a time."""

from __future__ import annotations

from studio.generation import generate_answers
from studio.prompts import prompt_messages


def test_batched_generation_matches_one_at_a_time(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    conversations = [
        prompt_messages("Answer briefly.", [{"role": "user", "content": text}])
        for text in ["hi", "my NAS-200 will not boot after the update, please help", "refund?"]
    ]
    batched = generate_answers(model, tokenizer, conversations, max_new_tokens=8, batch_size=3)
    single = [generate_answers(model, tokenizer, [c], max_new_tokens=8, batch_size=1)[0] for c in conversations]
    assert [b["output"] for b in batched] == [s["output"] for s in single]
    assert all(b["new_tokens"] > 0 and b["latency_s"] > 0 for b in batched)


def test_progress_is_reported_per_batch(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    seen = []
    conversations = [[{"role": "user", "content": f"ticket {i}"}] for i in range(5)]
    generate_answers(model, tokenizer, conversations, 2, batch_size=2, on_batch=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 5), (4, 5), (5, 5)]
