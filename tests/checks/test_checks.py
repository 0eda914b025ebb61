"""Every check with a clean and a dirty case on small real data, and the checks stored as findings."""

from __future__ import annotations

from checkdata import example, make_input
from conftest import PLANTED

from studio.checks.contradictions import find_contradictions
from studio.checks.duplicates import find_exact_duplicates, find_leakage, find_near_duplicates
from studio.checks.findings import CheckConfig, StoredFinding
from studio.checks.label_noise import find_suspect_outputs
from studio.checks.pii import find_pii
from studio.checks.runner import check_project, load_findings
from studio.checks.shapes import find_dataset_size, find_format_breaks, find_length_outliers
from studio.dataset.examples import add_example, edit_example, get_example
from studio.dataset.messages import single_turn
from studio.project.projects import ensure_project

LABELS = {"kind": "labels", "labels": ["pos", "neg", "neutral"]}
TEXT = {"kind": "text"}
TOPICS = {
    "billing": [
        "I was charged twice this month",
        "Why is my invoice higher than usual",
        "Please refund my last payment",
        "My credit card was billed for a plan I cancelled",
        "How do I get a copy of my receipt",
        "The subscription fee went up without notice",
        "I need a refund for the duplicate charge",
        "Can I pay by bank transfer instead of card",
        "My payment failed but money left my account",
        "Update the billing address on my invoices",
    ],
    "shipping": [
        "Where is my parcel",
        "The courier lost my package",
        "My order has not arrived after two weeks",
        "The box arrived damaged",
        "Can I change the delivery address",
        "Tracking number does not work",
        "The delivery was left at the wrong house",
        "How long does shipping to Canada take",
        "My order shipped to my old address",
        "The parcel says delivered but I have nothing",
    ],
    "login": [
        "I cannot log in to my account",
        "Password reset email never arrives",
        "My account is locked",
        "Two-factor code is rejected",
        "I forgot my username",
        "The login page keeps reloading",
        "How do I change my password",
        "My session expires every minute",
        "I cannot sign in with Google",
        "Locked out after too many attempts",
    ],
}
TOPIC_SPEC = {"kind": "labels", "labels": sorted(TOPICS)}


def _topic_rows() -> list[tuple[str, str]]:
    return [(text, topic) for topic, texts in TOPICS.items() for text in texts]


def _pairs(findings: list[StoredFinding], kind: str) -> list[frozenset[str]]:
    return [frozenset(e.external_id for e in f.examples) for f in findings if f.kind == kind]


def _kinds(findings) -> list[str]:
    return [f.kind for f in findings if f.kind != "size"]


# exact duplicates


def test_the_demo_has_exactly_the_planted_duplicates(db, demo):
    duplicates = _pairs(check_project(db, demo), "duplicate")
    assert sorted(map(sorted, duplicates)) == sorted(map(sorted, PLANTED["duplicates"]))


def test_distinct_inputs_are_not_duplicates():
    data = make_input(
        [("The meeting moved to Tuesday.", "Meeting now Tuesday."), ("The invoice was paid twice.", "Double payment.")],
        TEXT,
    )
    assert find_exact_duplicates(data) == [] and find_near_duplicates(data) == []


# near duplicates


def test_a_reworded_input_with_the_same_answer_is_a_near_duplicate():
    data = make_input(
        [
            ("How do I reset my password?", "login"),
            ("How can I reset my password?", "login"),
            ("Where is my parcel?", "shipping"),
        ],
        TOPIC_SPEC,
    )
    [finding] = find_near_duplicates(data)
    assert finding.positions == (0, 1) and 0.92 <= finding.score < 1.0


def test_the_near_duplicate_threshold_is_the_users_to_change():
    rows = [("How do I reset my password?", "login"), ("How can I reset my password?", "login")]
    assert find_near_duplicates(make_input(rows, TOPIC_SPEC, CheckConfig(near_duplicate_similarity=0.999))) == []


# contradictions


def test_the_demo_has_exactly_the_planted_contradictions(db, demo):
    contradictions = _pairs(check_project(db, demo), "contradiction")
    assert sorted(map(sorted, contradictions)) == sorted(map(sorted, PLANTED["contradictions"]))


def test_the_same_input_with_another_label_is_one_contradiction(db, label_project):
    first = add_example(db, label_project, single_turn("I love this phone", "pos"), "ann", "approved")
    second = add_example(db, label_project, single_turn("  i LOVE this\tphone ", "neg"), "bob", "approved")
    findings = check_project(db, label_project)
    [contradiction] = [f for f in findings if f.kind == "contradiction"]
    assert {e.id for e in contradiction.examples} == {first, second}
    assert contradiction.severity == "error" and contradiction.score == 1.0
    assert "duplicate" not in _kinds(findings)


def test_a_reworded_input_with_another_label_is_a_contradiction_ranked_below_an_exact_one():
    data = make_input(
        [
            ("How do I reset my password?", "login"),
            ("How can I reset my password?", "billing"),
            ("Where is my parcel?", "shipping"),
            ("where is my parcel?", "login"),
        ],
        TOPIC_SPEC,
    )
    findings = sorted(find_contradictions(data), key=lambda f: -f.score)
    assert [f.positions for f in findings] == [(2, 3), (0, 1)]
    assert findings[0].score == 1.0 > findings[1].score >= 0.92
    assert "'login' and 'billing'" in findings[1].explanation


def test_a_json_contradiction_names_the_field_that_differs(db):
    schema = {
        "type": "object",
        "properties": {"category": {"enum": ["billing", "technical"]}, "priority": {"enum": ["low", "high"]}},
    }
    project = ensure_project(db, "triage", "Triage the ticket.", {"kind": "json", "schema": schema})
    add_example(
        db,
        project,
        single_turn("My card was charged twice", '{"category": "billing", "priority": "high"}'),
        "ann",
        "approved",
    )
    add_example(
        db,
        project,
        single_turn("my card was charged twice", '{"priority": "low", "category": "billing"}'),
        "bob",
        "approved",
    )
    [finding] = [f for f in check_project(db, project) if f.kind == "contradiction"]
    assert "priority" in finding.explanation and "category" not in finding.explanation


def test_free_text_answers_contradict_only_when_they_mean_different_things():
    same_meaning = make_input(
        [
            ("When is the meeting?", "The meeting is on Tuesday at 10."),
            ("When's the meeting?", "It is on Tuesday at 10 am."),
        ],
        TEXT,
    )
    assert find_contradictions(same_meaning) == []
    different = make_input(
        [
            ("When is the meeting?", "The meeting is on Tuesday at 10."),
            ("When's the meeting?", "Your invoice has been refunded."),
        ],
        TEXT,
    )
    [finding] = find_contradictions(different)
    assert "mean different things" in finding.explanation


# suspect outputs


def test_clean_topics_have_no_suspect_outputs():
    assert find_suspect_outputs(make_input(_topic_rows(), TOPIC_SPEC)) == []


def test_a_mislabelled_example_without_a_twin_is_a_suspect_output():
    rows = _topic_rows()
    rows[3] = (rows[3][0], "shipping")  # "My credit card was billed for a plan I cancelled" is billing
    findings = find_suspect_outputs(make_input(rows, TOPIC_SPEC))
    accused, *evidence = findings[0].positions
    assert accused == 3 and evidence and all(rows[p][1] == "billing" for p in evidence)
    assert "'billing'" in findings[0].explanation and findings[0].score > 0.5


# format


def test_an_answer_that_breaks_the_spec_is_a_format_finding(db, label_project):
    broken = add_example(db, label_project, single_turn("It was fine, I guess", "meh"), "ann", status="draft")
    add_example(db, label_project, single_turn("Awful service", "neg"), "ann", status="approved")
    [finding] = [f for f in check_project(db, label_project) if f.kind == "format"]
    assert [e.id for e in finding.examples] == [broken]
    assert "'meh' is not one of the labels" in finding.explanation


def test_without_a_spec_answers_must_share_the_usual_format():
    rows = [(f"Ticket number {i} about something", '{"team": "ops", "urgent": false}') for i in range(6)]
    clean = make_input(rows, TEXT)
    assert find_format_breaks(clean) == []
    dirty = make_input(rows + [("Another ticket", '{"team": "ops"}'), ("Yet another one", "ops, not urgent")], TEXT)
    reasons = {f.positions[0]: f.explanation for f in find_format_breaks(dirty)}
    assert set(reasons) == {6, 7}
    assert "missing urgent" in reasons[6] and "not" in reasons[7]


def test_a_label_written_in_another_case_breaks_the_shared_format():
    rows = [(text, label) for text, label in _topic_rows()]
    rows[0] = (rows[0][0], "Billing")
    [finding] = find_format_breaks(make_input(rows, TEXT))
    assert finding.positions == (0,) and "usually written 'billing'" in finding.explanation


# length and tokens


def test_typical_lengths_have_no_outliers():
    assert find_length_outliers(make_input(_topic_rows(), TOPIC_SPEC)) == []


def test_a_pasted_wall_of_text_and_an_over_long_example_are_length_findings():
    rows = _topic_rows()
    rows[5] = (" ".join(["The courier lost my package and nobody answers my emails."] * 12), "shipping")
    data = make_input(rows, TOPIC_SPEC, CheckConfig(max_tokens=60), long_examples={5: 150})
    findings = find_length_outliers(data)
    assert {f.positions for f in findings} == {(5,)}
    assert any("truncated" in f.explanation for f in findings) and any("far longer" in f.explanation for f in findings)


def test_token_counts_come_from_the_base_models_tokenizer(db, demo):
    findings = check_project(db, demo)
    assert not [f for f in findings if f.kind == "length"]
    short = [f for f in check_project(db, demo, CheckConfig(max_tokens=300)) if f.kind == "length"]
    assert short and all("truncated" in f.explanation for f in short)


# leakage


def test_the_studios_own_split_leaks_nothing(db, demo):
    assert "leakage" not in _kinds(check_project(db, demo))


def test_a_paraphrase_across_the_split_is_leakage():
    rows = [
        ("How do I reset my password?", "login"),
        ("How can I reset my password?", "login"),
        ("Where is my parcel?", "shipping"),
        ("I was charged twice", "billing"),
    ]
    data = make_input(rows, TOPIC_SPEC, held_out=frozenset({1}))
    [finding] = find_leakage(data)
    assert finding.positions == (1, 0)
    assert find_leakage(make_input(rows, TOPIC_SPEC, held_out=frozenset({2}))) == []


# PII


def test_plain_support_text_has_no_pii():
    rows = [
        ("Order 1234567890123 shipped on 2024-03-05, firmware 2.4.1", "shipping"),
        ("Card ending 4242 was declined", "billing"),
    ]
    assert find_pii(make_input(rows, TOPIC_SPEC)) == []


def test_emails_phones_cards_and_ibans_are_pii():
    rows = [
        ("Write to jane.doe@example.com", "login"),
        ("Call me on (415) 555-2671", "login"),
        ("My card 4111 1111 1111 1111 was charged", "billing"),
        ("Refund to GB82 WEST 1234 5698 7654 32", "billing"),
    ]
    findings = find_pii(make_input(rows, TOPIC_SPEC))
    assert [f.positions for f in findings] == [(0,), (1,), (2,), (3,)]
    assert [f.explanation.split(":")[1].split()[0] for f in findings] == ["e-mail", "phone", "card", "IBAN"]
    assert "4111 1111" not in findings[2].explanation


# dataset size


def test_a_handful_of_examples_is_too_few():
    [finding] = find_dataset_size(make_input(_topic_rows()[:10], TOPIC_SPEC))
    assert finding.severity == "error" and "too few" in finding.explanation


def test_enough_examples_and_met_targets_have_no_size_error():
    rows = [example(i, f"Question number {i}", "billing", tags=["billing"]) for i in range(60)]
    findings = find_dataset_size(make_input(rows, TOPIC_SPEC, tag_targets={"billing": 50}))
    assert [f.severity for f in findings] == ["info"]
    short = find_dataset_size(make_input(rows, TOPIC_SPEC, tag_targets={"billing": 80, "login": 5}))
    assert sorted(f.explanation for f in short if f.severity == "warning") == [
        "Tag 'billing' has 60 approved examples, under its target of 80.",
        "Tag 'login' has 0 approved examples, under its target of 5.",
    ]


# storage


def test_rejected_examples_are_not_checked(db, label_project):
    add_example(db, label_project, single_turn("Great value", "pos"), "ann", "approved")
    other = add_example(db, label_project, single_turn("great value", "neg"), "bob", "submitted")
    assert _kinds(check_project(db, label_project)) == ["contradiction"]
    edit_example(db, label_project, other, get_example(db, other)["revision"], "carol", status="rejected")
    assert _kinds(check_project(db, label_project)) == []


def test_findings_are_stored_and_loaded_back(db, demo):
    found = check_project(db, demo)
    loaded = load_findings(db, demo)

    def summary(findings):
        return sorted((f.kind, tuple(sorted(e.external_id for e in f.examples))) for f in findings)

    assert len(found) >= 6
    assert summary(loaded) == summary(found)
