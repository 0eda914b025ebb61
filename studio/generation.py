"""Batched greedy generation with the base model's chat template.

Prompts are sorted by length and generated in left-padded batches with the KV cache;
answers come back in the order the prompts were given.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def generate_answers(
    model, tokenizer, conversations: list[list[dict]], max_new_tokens: int, batch_size: int = 16,
    on_batch: Callable[[int, int], None] = lambda done, total: None,
) -> list[dict]:
    """Answer each conversation greedily; return [{"output", "latency_s", "new_tokens"}] in order."""
    import torch

    texts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[dict | None] = [None] * len(texts)
    tokenizer.padding_side = "left"
    model.eval()
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        encoded = tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False)
        encoded = encoded.to(model.device)
        began = time.perf_counter()
        with torch.inference_mode():
            generated = model.generate(
                **encoded, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
            )
        seconds = time.perf_counter() - began
        new = generated[:, encoded["input_ids"].shape[1] :]
        for row, index in enumerate(batch):
            tokens = [t for t in new[row].tolist() if t != tokenizer.pad_token_id]
            results[index] = {
                "output": tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                "latency_s": seconds / len(batch),
                "new_tokens": len(tokens),
            }
        on_batch(min(start + batch_size, len(order)), len(order))
    return results
