"""Confidence routing bands and the accuracy-against-coverage curve, on hand-computed data."""

from __future__ import annotations

import dataclasses

import pytest

from studio.evaluation.routing import RoutingConfig, coverage_curve, route

CONFIDENCES = [0.6, 0.95, 0.75, 0.5, 0.92, 0.8]
CORRECT = [0.0, 1.0, 0.0, 1.0, 1.0, 1.0]


def by_band(bands: list[dict]) -> dict[str, dict]:
    return {band["band"]: band for band in bands}


def test_bands_split_every_prediction_with_their_accuracy():
    bands = route(CONFIDENCES, CORRECT, RoutingConfig())
    assert [b["band"] for b in bands] == ["straight through", "human review", "full human workflow"]
    assert sum(b["share"] for b in bands) == pytest.approx(1.0)
    assert [b["count"] for b in bands] == [2, 2, 2]
    assert [b["accuracy"] for b in bands] == [1.0, 0.5, 0.5]
    assert [(b["at_least"], b["below"]) for b in bands] == [(0.9, None), (0.7, 0.9), (None, 0.7)]


def test_a_threshold_belongs_to_the_band_above_it():
    bands = by_band(route([0.9, 0.7, 0.69999], [1.0, 1.0, 0.0], RoutingConfig(high=0.9, low=0.7)))
    assert bands["straight through"]["count"] == 1
    assert bands["human review"]["count"] == 1
    assert bands["full human workflow"]["count"] == 1


def test_moving_a_threshold_moves_examples_between_bands():
    lowered = by_band(route(CONFIDENCES, CORRECT, RoutingConfig(high=0.78, low=0.7)))
    assert lowered["straight through"]["count"] == 3 and lowered["straight through"]["accuracy"] == 1.0
    assert lowered["human review"]["count"] == 1 and lowered["human review"]["accuracy"] == 0.0
    raised = by_band(route(CONFIDENCES, CORRECT, RoutingConfig(high=0.9, low=0.55)))
    assert raised["full human workflow"]["count"] == 1 and raised["full human workflow"]["accuracy"] == 1.0
    assert raised["human review"]["count"] == 3 and raised["human review"]["accuracy"] == pytest.approx(1 / 3)


def test_partial_scores_average_and_empty_bands_have_no_accuracy():
    bands = by_band(route([0.95, 0.99], [0.5, 0.25], RoutingConfig()))
    assert bands["straight through"]["accuracy"] == pytest.approx(0.375)
    assert bands["human review"] == {
        "band": "human review",
        "share": 0.0,
        "count": 0,
        "accuracy": None,
        "at_least": 0.7,
        "below": 0.9,
    }


def test_no_predictions_give_empty_bands_and_no_curve():
    assert [(b["share"], b["count"], b["accuracy"]) for b in route([], [], RoutingConfig())] == [(0.0, 0, None)] * 3
    assert coverage_curve([], []) == []


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        RoutingConfig(high=0.6, low=0.7)
    with pytest.raises(ValueError):
        route([0.9], [1.0, 0.0], RoutingConfig())
    with pytest.raises(ValueError):
        coverage_curve([0.9, None], [1.0, 0.0])


def test_every_setting_has_help():
    assert all(f.metadata["help"] for f in dataclasses.fields(RoutingConfig))


def test_coverage_curve_runs_from_the_most_confident_to_everything():
    curve = coverage_curve(CONFIDENCES, CORRECT)
    assert curve[0] == {"coverage": pytest.approx(1 / 6), "accuracy": 1.0, "threshold": 0.95, "count": 1}
    assert [p["threshold"] for p in curve] == [0.95, 0.92, 0.8, 0.75, 0.6, 0.5]
    assert [p["accuracy"] for p in curve] == pytest.approx([1.0, 1.0, 1.0, 0.75, 0.6, 4 / 6])
    assert curve[-1]["coverage"] == 1.0
    assert curve[-1]["accuracy"] == pytest.approx(sum(CORRECT) / len(CORRECT))


def test_tied_confidences_make_one_point():
    curve = coverage_curve([0.3, 0.8, 0.9, 0.8], [0.0, 0.0, 1.0, 1.0])
    assert [(p["coverage"], p["threshold"], p["count"]) for p in curve] == [
        (0.25, 0.9, 1),
        (0.75, 0.8, 3),
        (1.0, 0.3, 4),
    ]
    assert [p["accuracy"] for p in curve] == pytest.approx([1.0, 2 / 3, 0.5])


def test_a_runs_thresholds_are_saved_with_it_and_read_back(db, demo):
    """The Evaluate page saves a run's thresholds; the Deploy page (and the next session) reads them back."""
    from storage import runs as run_table
    from storage.db import connect
    from studio.evaluation.thresholds import save_routing, saved_routing
    from studio.project.people import NotAllowed, Person
    from studio.training.launch import get_run

    with connect(db) as con:
        run_table.insert_run(
            con,
            {"id": "r1", "project_id": demo.id, "status": "succeeded", "config": {}, "snapshot_hash": "h"}
            | {"n_train": 1, "n_eval": 1, "run_dir": "/nowhere"},
        )
    assert saved_routing(get_run(db, "r1")) == RoutingConfig()  # nothing saved yet: the defaults
    save_routing(db, "r1", RoutingConfig(high=0.8, low=0.55), Person("ada", "admin"))
    assert saved_routing(get_run(db, "r1")) == RoutingConfig(high=0.8, low=0.55)
    with pytest.raises(NotAllowed, match="admins"):
        save_routing(db, "r1", RoutingConfig(high=0.5, low=0.1), Person("ann", "annotator"))
    with pytest.raises(ValueError, match="no run r2"):
        save_routing(db, "r2", RoutingConfig())
    assert saved_routing(get_run(db, "r1")) == RoutingConfig(high=0.8, low=0.55)
