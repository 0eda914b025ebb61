"""Every import format with good rows and bad ones, the mapping, the dry run, and the export round trip.

Files are built in each test's tmp_path with the libraries that write them for real
(pyarrow for Parquet, `datasets` save_to_disk for a datasets folder, pandas for CSV).
"""

from __future__ import annotations

import itertools
import json
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.dataset.examples import add_example, list_examples
from studio.dataset.messages import single_turn
from studio.project.projects import ensure_project
from studio.transfer.columns import ColumnMapping, guess_mapping
from studio.transfer.imports import FROM_FILE, ImportOptions, ImportRefused, import_file, plan_import
from studio.transfer.readers import UnreadableFile, read_source
from studio.transfer.writers import EXPORT_FORMATS, export_examples

LABELS = {"kind": "labels", "labels": ["pos", "neg", "neutral"]}


def contents(db, project) -> list[tuple]:
    return [(e["external_id"], e["messages"], e["tags"], e["status"]) for e in list_examples(db, project)]


def refused(db, project, path, **options) -> list[str]:
    with pytest.raises(ImportRefused) as error:
        import_file(db, project, path, "ann", ImportOptions(**options))
    assert list_examples(db, project) == []
    return error.value.problems


# Alpaca


ALPACA = [
    {"instruction": "Label the sentiment.", "input": "Best purchase ever", "output": "pos"},
    {"instruction": "Is this review negative?", "input": "", "output": "neg"},
]


def test_alpaca_jsonl_joins_instruction_and_input_into_the_user_message(db, label_project, tmp_path):
    path = tmp_path / "alpaca.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in ALPACA) + "\n")
    plan = plan_import(db, label_project, path)
    assert plan.source.format == "alpaca"
    assert plan.mapping.to_dict() == {"instruction": "instruction", "input": "input", "output": "output"}
    assert import_file(db, label_project, path, "ann") == {"imported": 2, "skipped": 0}
    assert [e["messages"] for e in list_examples(db, label_project)] == [
        single_turn("Label the sentiment.\n\nBest purchase ever", "pos"),
        single_turn("Is this review negative?", "neg"),
    ]


def test_an_alpaca_json_array_names_its_bad_rows(db, label_project, tmp_path):
    path = tmp_path / "alpaca_data.json"
    path.write_text(
        json.dumps(
            [
                *ALPACA,
                {"instruction": "Label it.", "input": "Meh"},
                "not an object",
                {"instruction": 3, "output": "pos"},
            ],
            indent=1,
        )
    )
    problems = refused(db, label_project, path, format="alpaca", status="approved")
    assert problems == [
        "row 3: the answer ('output') is empty",
        "row 4: expected a JSON object, got str",
        "row 5: 'instruction' must be text, not int",
    ]


# CSV


def test_csv_handles_quoting_newlines_and_the_mapping(db, text_project, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text(
        "note_id,question,summary,labels\n"
        'n1,"Meeting moved, again","Moved.","work, calendar"\n'
        'n2,"Line one\nline two ""quoted""",Two lines.,\n'
    )
    plan = plan_import(db, text_project, path, ImportOptions(remap="id=note_id,output=summary,tags=labels"))
    assert plan.mapping.to_dict() == {"input": "question", "output": "summary", "tags": "labels", "id": "note_id"}
    import_file(db, text_project, path, "ann", ImportOptions(remap="id=note_id,output=summary,tags=labels"))
    assert contents(db, text_project) == [
        ("n1", single_turn("Meeting moved, again", "Moved."), ["work", "calendar"], "draft"),
        ("n2", single_turn('Line one\nline two "quoted"', "Two lines."), [], "draft"),
    ]


def test_csv_bad_rows_are_named_by_their_spreadsheet_row(db, label_project, tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(
        "id,prompt,completion\n"
        'r1,"Fine\nreally",pos\n'  # row 2 spans two lines
        "r2,Too,many,fields\n"
        "r3,,neg\n"
        "r4,Okay,so-so\n"
        "r1,Again,pos\n"
    )
    assert refused(db, label_project, path, status="approved") == [
        "row 3: 4 fields, but the header has 3; check the quoting",
        "row 4: the user message is empty ('prompt')",
        "row 5: the answer breaks the project's format ('so-so' is not one of the labels: pos, neg, neutral); save it as a draft or fix it",
        "row 6: id 'r1' is also on row 2",
    ]


def test_a_csv_that_is_not_utf8_is_refused_naming_the_line(db, label_project, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("prompt,completion\nok,pos\ncafé,neg\n".encode("latin-1"))
    with pytest.raises(UnreadableFile, match=r"line 3 is not UTF-8 text \(byte 0xe9\)"):
        import_file(db, label_project, path, "ann")
    assert list_examples(db, label_project) == []


def test_a_jsonl_line_that_is_not_utf8_is_a_bad_row(db, label_project, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"prompt": "ok", "completion": "pos"}\n{"prompt": "caf\xe9", "completion": "neg"}\n')
    assert refused(db, label_project, path) == [
        "line 2: not UTF-8 text (byte 0xe9 at column 16); save the file as UTF-8",
    ]


def test_a_semicolon_csv_is_read_by_its_header(db, label_project, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("Question;Answer\nIs it good, really?;pos\n")
    import_file(db, label_project, path, "ann")
    assert [e["messages"] for e in list_examples(db, label_project)] == [single_turn("Is it good, really?", "pos")]


# Parquet


def test_parquet_with_list_tags_and_numeric_ids(db, label_project, tmp_path):
    path = tmp_path / "reviews.parquet"
    pq.write_table(
        pa.table(
            {
                "uid": [7, 8, 9],
                "text": ["Great", "Awful", None],
                "label": ["pos", None, "neg"],
                "tags": [["a"], [], ["b", "c"]],
            }
        ),
        path,
    )
    mapping = ColumnMapping(input="text", output="label", id="uid", tags="tags")
    assert refused(db, label_project, path, mapping=mapping) == [
        "row 2: the answer ('label') is empty",
        "row 3: the user message is empty ('text')",
    ]
    pq.write_table(pa.table({"uid": [7], "text": ["Great"], "label": ["pos"], "tags": [["a"]]}), path)
    assert import_file(db, label_project, path, "ann", ImportOptions(mapping=mapping)) == {"imported": 1, "skipped": 0}
    assert contents(db, label_project) == [("7", single_turn("Great", "pos"), ["a"], "draft")]


# Hugging Face datasets folders


@pytest.fixture
def dataset_dict(tmp_path):
    import datasets

    folder = tmp_path / "reviews_ds"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"prompt": ["Great", "Awful"], "completion": ["pos", "neg"]}),
            "test": datasets.Dataset.from_dict({"prompt": ["Fine", ""], "completion": ["neutral", "pos"]}),
        }
    ).save_to_disk(str(folder))
    return folder


def test_a_datasets_folder_imports_its_train_split_by_default(db, label_project, dataset_dict):
    assert import_file(db, label_project, dataset_dict, "ann") == {"imported": 2, "skipped": 0}
    assert [e["messages"] for e in list_examples(db, label_project)] == [
        single_turn("Great", "pos"),
        single_turn("Awful", "neg"),
    ]


def test_a_named_split_with_a_bad_row_and_a_missing_split(db, label_project, dataset_dict):
    assert refused(db, label_project, dataset_dict, split="test") == ["row 2: the user message is empty ('prompt')"]
    with pytest.raises(UnreadableFile, match=r"no split 'validation' \(splits: train, test\)"):
        plan_import(db, label_project, dataset_dict, ImportOptions(split="validation"))


def test_a_zipped_datasets_folder_is_read_like_the_folder(db, label_project, dataset_dict, tmp_path):
    archive = shutil.make_archive(
        str(tmp_path / "upload"), "zip", root_dir=dataset_dict.parent, base_dir=dataset_dict.name
    )
    plan = plan_import(db, label_project, archive)
    assert (plan.source.format, plan.source.splits, len(plan.new)) == ("hf", ("train", "test"), 2)


def test_a_folder_that_is_not_a_dataset_is_refused(db, label_project, tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(UnreadableFile, match="not a Hugging Face datasets folder"):
        plan_import(db, label_project, tmp_path / "plain")
    with pytest.raises(UnreadableFile, match="is a folder: only the hf format"):
        plan_import(db, label_project, tmp_path / "plain", ImportOptions(format="csv"))


# Dry run, idempotence, mapping


def test_the_dry_run_counts_and_samples_and_writes_nothing(db, label_project, tmp_path):
    add_example(db, label_project, single_turn("Great", "pos"), "ann")
    path = tmp_path / "reviews.csv"
    pd.DataFrame(
        {"prompt": ["Great", "Awful", "Fine", "Fine"], "completion": ["pos", "neg", "neutral", "neutral"]}
    ).to_csv(path, index=False)
    plan = plan_import(db, label_project, path)
    assert (len(plan.new), plan.skipped, plan.bad_rows) == (2, 2, ())
    summary = plan.summary()
    assert (summary["rows"], summary["new"], summary["skipped"], summary["bad"]) == (4, 2, 2, 0)
    assert [row["messages"] for row in summary["sample"]] == [
        single_turn("Awful", "neg"),
        single_turn("Fine", "neutral"),
    ]
    assert len(list_examples(db, label_project)) == 1


def test_importing_a_csv_twice_creates_nothing_new(db, label_project, tmp_path):
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"id": ["a", None], "prompt": ["Great", "Awful"], "completion": ["pos", "neg"]}).to_csv(
        path, index=False
    )
    assert import_file(db, label_project, path, "ann") == {"imported": 2, "skipped": 0}
    assert import_file(db, label_project, path, "ann") == {"imported": 0, "skipped": 2}
    assert [e["external_id"] for e in list_examples(db, label_project)] == ["a", None]


def test_the_mapping_is_guessed_from_column_names_and_checked(db, label_project, tmp_path):
    assert guess_mapping(["Question", "Answer", "system_prompt", "Tags", "external_id"]).to_dict() == {
        "input": "Question",
        "output": "Answer",
        "system": "system_prompt",
        "tags": "Tags",
        "id": "external_id",
    }
    path = tmp_path / "odd.csv"
    path.write_text("left,right\na,pos\n")
    with pytest.raises(ValueError, match="the file's columns are: left, right"):
        plan_import(db, label_project, path)
    with pytest.raises(ValueError, match="the file has no column 'middle'"):
        plan_import(db, label_project, path, ImportOptions(remap="input=middle"))
    assert len(plan_import(db, label_project, path, ImportOptions(remap="input=left,output=right")).new) == 1


def test_columns_the_names_say_nothing_about_are_guessed_from_their_values():
    intents = ["card_lost", "refund", "balance", "transfer"]
    rows = [
        {"ticket_no": f"T{n}", "intent": intents[n % 4], "customer_message": f"Message number {n} about my account"}
        for n in range(40)
    ]
    columns = ["ticket_no", "intent", "customer_message"]
    guessed = guess_mapping(columns, rows).to_dict()
    assert guessed == {"input": "customer_message", "output": "intent"}  # few values: the answer
    assert guess_mapping(columns).to_dict() == {}  # the names alone say nothing
    two = [{"left": f"question {n}", "right": f"a different answer {n}"} for n in range(3)]
    assert guess_mapping(["left", "right"], two).to_dict() == {"input": "left", "output": "right"}
    named = [{"prompt": f"p{n}", "label": intents[n % 4]} for n in range(40)]
    assert guess_mapping(["prompt", "label"], named).to_dict() == {"input": "prompt", "output": "label"}
    numbers = [{"message": f"m{n}", "score": n % 3} for n in range(40)]
    assert "output" not in guess_mapping(["message", "score"], numbers).to_dict()  # numbers are not labels


def test_an_unknown_suffix_asks_for_a_format(db, label_project, tmp_path):
    (tmp_path / "data.txt").write_text("prompt,completion\n")
    with pytest.raises(UnreadableFile, match="cannot tell the format"):
        read_source(tmp_path / "data.txt")


# Export, and the round trip through every format


@pytest.fixture
def varied(db):
    """A project with every kind of example an export has to carry."""
    project = ensure_project(db, "varied", "", LABELS)
    add_example(db, project, single_turn("Best purchase ever", "pos"), "ann", "approved", ["gadgets", "a, b"], "A-1")
    add_example(
        db,
        project,
        [{"role": "system", "content": "Be terse."}, *single_turn("Line one\nline two", "neg")],
        "ann",
        "approved",
        [],
    )
    add_example(
        db,
        project,
        [
            {"role": "system", "content": "Be terse."},
            *single_turn("Is it good?", "Which one?"),
            *single_turn('The blue one, with "quotes".', "neutral"),
        ],
        "ann",
        "submitted",
        ["multi"],
        "A-3",
    )
    add_example(db, project, single_turn("Meh", "neutral"), "ann", "draft", ["multi"], "A-4")
    return project


@pytest.mark.parametrize("format", EXPORT_FORMATS)
def test_export_then_import_gives_back_the_same_examples(db, varied, tmp_path, format):
    out = tmp_path / ("export" if format == "hf" else f"export.{format}")
    assert export_examples(db, varied, out, format, status=None) == 4
    copy = ensure_project(db, f"copy-{format}", "", LABELS)
    assert import_file(db, copy, out, "bob", ImportOptions(status=FROM_FILE)) == {"imported": 4, "skipped": 0}
    original = contents(db, varied)
    original[1] = (
        str(list_examples(db, varied)[1]["id"]),
        *original[1][1:],
    )  # no external id: the export names it by id
    assert contents(db, copy) == original
    assert import_file(db, copy, out, "bob", ImportOptions(status=FROM_FILE)) == {"imported": 0, "skipped": 4}


def test_export_filters_by_status_and_tag(db, varied, tmp_path):
    assert export_examples(db, varied, tmp_path / "approved.jsonl") == 2
    assert export_examples(db, varied, tmp_path / "multi.csv", status=None, tag="multi") == 2
    assert export_examples(db, varied, tmp_path / "none.parquet", status="rejected") == 0
    assert pq.read_table(tmp_path / "none.parquet").column_names == ["id", "messages", "tags", "status"]
    frame = pd.read_csv(tmp_path / "multi.csv", keep_default_na=False)
    assert list(frame["id"]) == ["A-3", "A-4"] and list(frame["status"]) == ["submitted", "draft"]
    assert frame["messages"][1] == "" and json.loads(frame["messages"][0])[0]["role"] == "system"


# Property: any examples survive export then import, in every format

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25)
SOME_TEXT = TEXT.filter(lambda t: t.strip())


@st.composite
def conversations(draw) -> list[dict]:
    system = draw(st.one_of(st.none(), TEXT))
    turns = [m for _ in range(draw(st.integers(1, 2))) for m in single_turn(draw(SOME_TEXT), draw(SOME_TEXT))]
    return ([] if system is None else [{"role": "system", "content": system}]) + turns


PROJECT_NUMBERS = itertools.count()  # hypothesis reuses the test's database across its examples
EXAMPLES = st.lists(
    st.tuples(
        conversations(),
        st.lists(SOME_TEXT, max_size=3, unique=True),
        st.sampled_from(["draft", "submitted", "approved"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(examples=EXAMPLES)
def test_any_examples_survive_the_round_trip_in_every_format(db, tmp_path, examples):
    project = ensure_project(db, f"p-{next(PROJECT_NUMBERS)}", "", {"kind": "text"})
    for index, (messages, tags, status, has_id) in enumerate(examples):
        add_example(db, project, messages, "ann", status, tags, f"x-{index}" if has_id else None)
    expected = [
        (e["external_id"] or str(e["id"]), e["messages"], e["tags"], e["status"]) for e in list_examples(db, project)
    ]
    for format in EXPORT_FORMATS:
        out = tmp_path / f"{project.name}-out" / ("hf" if format == "hf" else f"export.{format}")
        out.parent.mkdir(exist_ok=True)
        export_examples(db, project, out, format, status=None)
        copy = ensure_project(db, f"{project.name}-{format}", "", {"kind": "text"})
        import_file(db, copy, out, "bob", ImportOptions(status=FROM_FILE))
        assert contents(db, copy) == expected, format
