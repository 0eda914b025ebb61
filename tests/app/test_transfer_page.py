"""The Import & export page (Streamlit AppTest): preview with bad rows, import, export filters.

AppTest cannot drive st.file_uploader, so the import goes through the page's path field,
which feeds the same preview and import as an upload. Typed paths must lie in the data
home's imports/ folder (or one STUDIO_ALLOWED_DIRS names), so the files are written there.
"""

from __future__ import annotations

import json

from app_kit import open_page
from streamlit.testing.v1 import AppTest

from studio.dataset.examples import count_by_status, list_examples
from studio.project.confinement import import_roots

GOOD = '{"category": "billing", "priority": "low", "needs_human": false}'


def open_transfer_page() -> AppTest:
    return open_page("pages/transfer.py")


def metrics(app) -> dict:
    return {m.label: m.value for m in app.metric}


def test_a_file_with_a_bad_row_is_previewed_and_cannot_be_imported(db, demo, tmp_path):
    path = import_roots()[0] / "tickets.csv"
    path.write_text(
        f'ticket,answer\n"Charged twice, please refund","{GOOD.replace(chr(34), chr(34) * 2)}"\n'
        'Where is my invoice?,"{""category"": ""billing""\n'
    )
    app = open_transfer_page()
    app.text_input(key="import_path").input(str(path)).run()
    assert not app.exception, app.exception
    app.selectbox(key="map_input_tickets.csv_csv").select("ticket").run()
    app.selectbox(key="import_status").select("approved").run()
    assert metrics(app) == {"New": "1", "Already there": "0", "Bad rows": "1"}
    bad = app.dataframe[0].value
    assert list(bad["where"]) == ["row 3"] and "not valid JSON" in bad["reason"][0]
    assert app.button(key="run_import").disabled
    assert count_by_status(db, demo)["approved"] == 223


def test_importing_from_the_page_then_the_preview_shows_it_is_there(db, demo, tmp_path):
    path = import_roots()[0] / "tickets.jsonl"
    path.write_text(json.dumps({"id": "N-1", "prompt": "Charged twice, please refund", "completion": GOOD}) + "\n")
    app = open_transfer_page()
    app.text_input(key="import_path").input(str(path)).run()
    app.selectbox(key="import_status").select("submitted").run()
    assert metrics(app)["New"] == "1"
    app.button(key="run_import").click().run()
    assert not app.exception, app.exception
    assert "Imported 1 examples into demo as submitted" in app.success[0].value
    assert count_by_status(db, demo)["submitted"] == 15
    assert metrics(app) == {"New": "0", "Already there": "1", "Bad rows": "0"}


def test_the_export_section_counts_what_each_filter_selects(db, demo):
    app = open_transfer_page()
    assert any("223 examples match · demo-approved.jsonl" in c.value for c in app.caption)
    app.selectbox(key="export_status").select("all").run()
    assert any("247 examples match" in c.value for c in app.caption)
    app.selectbox(key="export_tag").select("billing").run()
    app.selectbox(key="export_format").select("hf").run()
    assert not app.exception, app.exception
    billing = sum("billing" in e["tags"] for e in list_examples(db, demo))
    assert any(f"{billing} examples match · demo-all-billing.zip" in c.value for c in app.caption)


def test_a_datasets_folder_path_offers_its_splits(demo, tmp_path):
    import datasets

    folder = import_roots()[0] / "tickets_ds"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"prompt": ["Refund my double charge"], "completion": [GOOD]}),
            "test": datasets.Dataset.from_dict(
                {"prompt": ["Reset my password", "Cancel my order"], "completion": [GOOD, GOOD]}
            ),
        }
    ).save_to_disk(str(folder))
    app = open_transfer_page()
    app.text_input(key="import_path").input(str(folder)).run()
    assert any("Read as **hf**" in c.value and "splits: train, test" in c.value for c in app.caption)
    assert metrics(app)["New"] == "1"
    app.text_input(key="import_split").input("test").run()
    assert metrics(app)["New"] == "2"
    app.text_input(key="import_split").input("validation").run()
    assert "no split 'validation' (splits: train, test)" in app.error[0].value


def test_an_unreadable_file_is_named_and_the_export_stays(demo, tmp_path):
    path = import_roots()[0] / "latin1.csv"
    path.write_bytes("prompt,completion\ncafé,x\n".encode("latin-1"))
    app = open_transfer_page()
    app.text_input(key="import_path").input(str(path)).run()
    assert not app.exception, app.exception
    assert "line 2 is not UTF-8 text (byte 0xe9)" in app.error[0].value
    assert any("223 examples match" in c.value for c in app.caption)


def test_a_typed_path_outside_the_allowed_folders_is_refused(db, demo, tmp_path):
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps({"prompt": "Charged twice", "completion": GOOD}) + "\n")
    app = open_transfer_page()
    for typed in (str(outside), "../../../etc/passwd", "/etc/passwd"):
        app.text_input(key="import_path").input(typed).run()
        assert not app.exception, app.exception
        assert (
            "is outside the folders the app may use" in app.error[0].value
            and str(import_roots()[0]) in app.error[0].value
        )
        assert not [b for b in app.button if b.key == "run_import"]
    assert count_by_status(db, demo)["approved"] == 223


def test_the_preview_leaves_the_external_id_blank_for_rows_without_one(demo):
    path = import_roots()[0] / "no_ids.jsonl"
    path.write_text(json.dumps({"prompt": "Charged twice, please refund", "completion": GOOD}) + "\n")
    app = open_transfer_page()
    app.text_input(key="import_path").input(str(path)).run()
    assert not app.exception, app.exception
    preview = app.dataframe[-1].value
    assert list(preview["external id"]) == [""]  # never the word None


def test_a_csv_whose_column_names_say_nothing_is_mapped_from_its_values(db):
    from studio.project.projects import create_project, get_project

    create_project(db, "bank")  # new: no description, free text
    path = import_roots()[0] / "bank.csv"
    intents = ["card_lost", "refund", "balance", "transfer"]
    rows = [f'"Hello, question {n} is about {intents[n % 4].replace("_", " ")}",{intents[n % 4]}' for n in range(24)]
    path.write_text("customer_message,intent\n" + "\n".join(rows) + "\n")
    app = open_transfer_page()
    app.text_input(key="import_path").input(str(path)).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]  # nothing is wrong before the user has done anything
    assert app.selectbox(key="map_input_bank.csv_csv").value == "customer_message"
    assert app.selectbox(key="map_output_bank.csv_csv").value == "intent"
    assert metrics(app) == {"New": "24", "Already there": "0", "Bad rows": "0"}
    assert any("Only **approved** examples are trained on" in c.value for c in app.caption)
    assert any("becomes the system prompt" in i.value for i in app.info)  # the file has no system message
    app.selectbox(key="map_output_bank.csv_csv").select("—").run()
    assert not app.error and any("Choose the column that holds" in i.value for i in app.info)
    app.selectbox(key="map_output_bank.csv_csv").select("intent").run()
    app.button(key="run_import").click().run()
    assert "Drafts are not trained on" in app.success[0].value
    assert count_by_status(db, get_project(db, "bank"))["draft"] == 24
