"""The template round-trip check on a tiny run folder: an fp32 adapter, merged, reloaded, re-asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.evaluation.roundtrip import check_round_trip
from studio.models.generation import generate_answers, generate_batch
from studio.models.prompts import prompt_messages

TEXTS = ["my NAS-200 will not boot after the update, please help", "hi", "refund?"]
IDS = ["ex-1", "ex-2", "ex-3"]
BUDGET = 10


def conversations() -> list[list[dict]]:
    return [prompt_messages("Answer briefly.", [{"role": "user", "content": text}]) for text in TEXTS]


def make_run(tiny_llama: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A run folder with a LoRA adapter that changes the answers, and the base it belongs to.

    The saved base is the tiny Llama, edited so that its first answer (as the worker gives
    it, on the 4-bit base) ends after a few tokens: the end-of-sequence token takes over the
    output row of the token picked there. Answers that never pick that token run on.
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
    run_dir, base_dir = tmp_path / "run", tmp_path / "base"
    tuned.save_pretrained(run_dir / "adapter")
    tokenizer.save_pretrained(run_dir / "adapter")
    base = tuned.unload()
    base.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    token = worker_tokens(run_dir, base_dir, tokenizer)[3]
    with torch.no_grad():
        head = base.get_output_embeddings().weight
        head[tokenizer.eos_token_id] = head[token]
    base.save_pretrained(base_dir)
    return run_dir, base_dir


def worker_model(run_dir: Path, base_dir: Path):
    """The adapter on the 4-bit base, as the worker loads it."""
    from peft import PeftModel

    from studio.models.loading import load_quantized

    return PeftModel.from_pretrained(load_quantized(str(base_dir)), str(run_dir / "adapter"))


def worker_tokens(run_dir: Path, base_dir: Path, tokenizer) -> list[int]:
    prompt = tokenizer.apply_chat_template(conversations()[0], add_generation_prompt=True, tokenize=False)
    encoded = tokenizer([prompt], return_tensors="pt", add_special_tokens=False)
    return generate_batch(worker_model(run_dir, base_dir), tokenizer, encoded, 4)[0][0].tolist()


@pytest.fixture(scope="module")
def run(tiny_llama, tmp_path_factory):
    """(run_dir, base_dir, the adapter's answers on the 4-bit base)."""
    from transformers import AutoTokenizer

    run_dir, base_dir = make_run(tiny_llama, tmp_path_factory.mktemp("round-trip"))
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = worker_model(run_dir, base_dir)
    answers = generate_answers(model, tokenizer, conversations(), BUDGET)
    with model.disable_adapter():
        plain = generate_answers(model, tokenizer, conversations(), BUDGET)
    assert [a["output"] for a in answers] != [p["output"] for p in plain]  # the adapter does something
    ended = [a["new_tokens"] < BUDGET for a in answers]
    assert ended[0] and not all(ended)  # what the two template_ok tests below rely on
    return run_dir, base_dir, [a["output"] for a in answers]


def test_merged_model_gives_the_adapters_answers(run):
    run_dir, base_dir, answers = run
    result = check_round_trip(run_dir, str(base_dir), conversations(), answers, IDS, BUDGET)
    assert result["checked"] == 3 and result["matches"] == 3 and result["mismatches"] == []
    assert result["template_ok"] is False  # an answer ran out of budget instead of ending
    merged = Path(result["merged_dir"])
    assert merged == run_dir / "merged"
    assert (merged / "config.json").exists() and not (merged / "adapter_config.json").exists()
    assert not (run_dir / "merged.partial").exists()


def test_an_answer_that_ends_with_the_same_template_is_ok(run):
    run_dir, base_dir, answers = run
    result = check_round_trip(run_dir, str(base_dir), conversations(), answers, IDS, BUDGET, n=1)
    assert result["checked"] == 1 and result["matches"] == 1
    assert result["template_ok"] is True


def test_a_different_answer_is_reported_as_a_mismatch(run):
    run_dir, base_dir, answers = run
    wrong = [answers[0], "not what the adapter said", answers[2]]
    result = check_round_trip(run_dir, str(base_dir), conversations(), wrong, IDS, BUDGET)
    assert result["matches"] == 2
    assert result["mismatches"] == [
        {"example_id": "ex-2", "adapter": "not what the adapter said", "merged": answers[1]}
    ]


def test_too_few_adapter_answers_are_refused(run):
    run_dir, base_dir, answers = run
    with pytest.raises(ValueError):
        check_round_trip(run_dir, str(base_dir), conversations(), answers[:1], IDS, BUDGET)


def test_a_cpu_recipe_run_merges_into_the_full_precision_base_it_trained_on(run, tmp_path):
    """Under the CPU recipe the adapter learnt against the fp32 base: the merge must use that base too."""
    import json
    import shutil

    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir, base_dir, _ = run
    cpu_run = tmp_path / "cpu-run"
    shutil.copytree(run_dir / "adapter", cpu_run / "adapter")
    (cpu_run / "config.json").write_text(json.dumps({"train": {"cpu_recipe": True}}))
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), str(cpu_run / "adapter"))
    answers = [a["output"] for a in generate_answers(model, tokenizer, conversations(), BUDGET)]
    result = check_round_trip(cpu_run, str(base_dir), conversations(), answers, IDS, BUDGET)
    assert result["matches"] == 3, result["mismatches"]
