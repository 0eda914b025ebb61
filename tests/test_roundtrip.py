"""The template round-trip check on a tiny run folder: an fp32 adapter, merged, reloaded, re-asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.generation import generate_answers, generate_batch
from studio.prompts import prompt_messages
from studio.roundtrip import check_round_trip

TEXTS = ["my NAS-200 will not boot after the update, please help", "hi", "refund?"]
IDS = ["ex-1", "ex-2", "ex-3"]
BUDGET = 10


def conversations() -> list[list[dict]]:
    return [prompt_messages("Answer briefly.", [{"role": "user", "content": text}]) for text in TEXTS]


def make_run(tiny_llama: Path, tmp_path: Path):
    """A run folder with a LoRA adapter that changes the answers, and the base it belongs to.

    The base is the tiny Llama, edited so that its first answer ends after a few tokens: the
    end-of-sequence token takes over the output row of the token the adapted model picks
    there. Answers that never pick that token run on to the budget.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    torch.manual_seed(1)  # lora_A starts random too: seed before the adapter is made
    tuned = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_llama),
        LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    with torch.no_grad():
        for name, weight in tuned.named_parameters():
            if "lora_B" in name:
                weight.normal_(std=0.05)
        prompt = tokenizer.apply_chat_template(conversations()[0], add_generation_prompt=True, tokenize=False)
        encoded = tokenizer([prompt], return_tensors="pt", add_special_tokens=False)
        token = generate_batch(tuned, tokenizer, encoded, 4)[0][0, 3].item()
        head = tuned.get_output_embeddings().weight
        head[tokenizer.eos_token_id] = head[token]
    run_dir = tmp_path / "run"
    tuned.save_pretrained(run_dir / "adapter")
    tokenizer.save_pretrained(run_dir / "adapter")
    return tuned, tokenizer, run_dir


@pytest.fixture(scope="module")
def run(tiny_llama, tmp_path_factory):
    """(run_dir, base_dir, the unmerged adapter's answers); the base saved after the edit."""
    tmp_path = tmp_path_factory.mktemp("round-trip")
    tuned, tokenizer, run_dir = make_run(tiny_llama, tmp_path)
    answers = generate_answers(tuned, tokenizer, conversations(), BUDGET)
    with tuned.disable_adapter():
        plain = generate_answers(tuned, tokenizer, conversations(), BUDGET)
    assert [a["output"] for a in answers] != [p["output"] for p in plain]  # the adapter does something
    ended = [a["new_tokens"] < BUDGET for a in answers]
    assert ended[0] and not all(ended)  # what the two template_ok tests below rely on
    base_dir = tmp_path / "base"
    tuned.unload().save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    return run_dir, base_dir, [a["output"] for a in answers]


def test_merged_model_gives_the_adapters_answers(run):
    import torch

    run_dir, base_dir, answers = run
    result = check_round_trip(run_dir, str(base_dir), conversations(), answers, IDS, BUDGET, dtype=torch.float32)
    assert result["checked"] == 3 and result["matches"] == 3 and result["mismatches"] == []
    assert result["template_ok"] is False  # an answer ran out of budget instead of ending
    merged = Path(result["merged_dir"])
    assert merged == run_dir / "merged"
    assert (merged / "config.json").exists() and not (merged / "adapter_config.json").exists()
    assert not (run_dir / "merged.partial").exists()


def test_an_answer_that_ends_with_the_same_template_is_ok(run):
    import torch

    run_dir, base_dir, answers = run
    result = check_round_trip(run_dir, str(base_dir), conversations(), answers, IDS, BUDGET, n=1, dtype=torch.float32)
    assert result["checked"] == 1 and result["matches"] == 1
    assert result["template_ok"] is True


def test_a_different_answer_is_reported_as_a_mismatch(run):
    import torch

    run_dir, base_dir, answers = run
    wrong = [answers[0], "not what the adapter said", answers[2]]
    result = check_round_trip(run_dir, str(base_dir), conversations(), wrong, IDS, BUDGET, dtype=torch.float32)
    assert result["matches"] == 2
    assert result["mismatches"] == [{"example_id": "ex-2", "adapter": "not what the adapter said", "merged": answers[1]}]


def test_too_few_adapter_answers_are_refused(run):
    run_dir, base_dir, answers = run
    with pytest.raises(ValueError):
        check_round_trip(run_dir, str(base_dir), conversations(), answers[:1], IDS, BUDGET)
