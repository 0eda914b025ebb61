"""`studio import FILE --split test`: a file of gold examples becomes the project's test set, and
`studio project show --json` counts the training examples and the test set apart."""

from __future__ import annotations

from test_cli import studio, studio_json


def _csv(path, rows: list[tuple[str, str]]):
    path.write_text("customer_message,intent\n" + "".join(f"{q},{a}\n" for q, a in rows))
    return path


MAP = "input=customer_message,output=intent"
TRAIN = [("where is my parcel", "shipping"), ("I forgot my password", "login"), ("my order has not come", "shipping")]
TEST = [("the parcel is late again", "shipping"), ("cannot sign in since yesterday", "login")]


def test_an_imported_test_file_becomes_the_test_set(home, db, tmp_path):
    from studio.dataset.examples import list_examples
    from studio.project.projects import get_project

    args = ["--project", "support", "--status", "approved", "--map", MAP]
    studio_json(home, "import", str(_csv(tmp_path / "train.csv", TRAIN)), *args)
    document = studio_json(home, "import", str(_csv(tmp_path / "test.csv", TEST)), *args, "--split", "test")
    assert document["imported"] == 2
    split_of = {e["messages"][0]["content"]: e["split"] for e in list_examples(db, get_project(db, "support"))}
    assert split_of == {q: "train" for q, _ in TRAIN} | {q: "test" for q, _ in TEST}
    shown = studio_json(home, "project", "show", "support")
    assert shown["examples"] == {"train": {"total": 3, "approved": 3}, "test": {"total": 2, "approved": 2}}
    assert "test 2 (2 approved)" in studio(home, "project", "show", "support").stdout


def test_a_dry_run_says_which_split_the_rows_would_join_and_a_bad_split_is_refused(home, db, tmp_path):
    path = _csv(tmp_path / "test.csv", TEST)
    plan = studio_json(home, "import", str(path), "--project", "support", "--map", MAP, "--split", "test", "--dry-run")
    assert {row["split"] for row in plan["sample"]} == {"test"}
    refused = studio(home, "import", str(path), "--project", "support", "--split", "holdout")
    assert refused.returncode == 2 and "invalid choice: 'holdout'" in refused.stderr
