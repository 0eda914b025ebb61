"""Plotly figures of the evaluation dashboard, shared by the Evaluate page and the HTML report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.express as px
import plotly.graph_objects as go

if TYPE_CHECKING:
    from studio.evaluation.leaderboard import LeaderboardRow

BAND_COLOURS = {"straight through": "#16a34a", "human review": "#f59e0b", "full human workflow": "#dc2626"}


def leaderboard_chart(board: list[LeaderboardRow]) -> go.Figure:
    """Bars of the primary metric, best first, with their 95% intervals."""
    metric = board[0].primary_metric
    figure = go.Figure(
        go.Bar(
            x=[row.label for row in board],
            y=[row.primary_value for row in board],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [row.high - row.primary_value for row in board],
                "arrayminus": [row.primary_value - row.low for row in board],
            },
            marker_color=["#2563eb" if row.model.startswith("tuned") else "#94a3b8" for row in board],
            text=[f"{row.primary_value:.3f}" for row in board],
            textposition="inside",
        )
    )
    figure.update_layout(
        title=f"{metric} on {board[0].n} held-out examples, with 95% intervals",
        yaxis={"range": [0, 1], "title": metric},
        height=360,
        margin={"t": 50, "b": 40},
    )
    return figure


def slice_chart(rows: list[dict], dimension: str, metric: str) -> go.Figure:
    """Grouped bars: each model's `metric` per slice of one dimension (tag, expected answer, input length, ...)."""
    chosen = [row for row in rows if row["dimension"] == dimension]
    figure = px.bar(
        chosen,
        x="slice",
        y=metric,
        color="model",
        barmode="group",
        hover_data=["n"],
        range_y=[0, 1],
        title=f"{metric} per {dimension}",
    )
    figure.update_layout(height=380, margin={"t": 50, "b": 40}, yaxis_title=metric)
    return figure


def coverage_chart(curve: list[dict], high: float, low: float) -> go.Figure:
    """Accuracy of the answers kept against the share kept, most confident first."""
    figure = go.Figure(
        go.Scatter(
            x=[p["coverage"] for p in curve],
            y=[p["accuracy"] for p in curve],
            mode="lines+markers",
            customdata=[p["threshold"] for p in curve],
            hovertemplate="coverage %{x:.2f}<br>accuracy %{y:.2f}<br>confidence ≥ %{customdata:.2f}",
        )
    )
    for threshold, name in ((high, "straight-through threshold"), (low, "review threshold")):
        kept = [p["coverage"] for p in curve if p["threshold"] >= threshold]
        if kept:
            figure.add_vline(x=max(kept), line_dash="dot", annotation_text=name)
    figure.update_layout(
        title="Accuracy against coverage (tuned model)",
        xaxis_title="share of answers kept",
        yaxis={"range": [0, 1.05], "title": "accuracy"},
        height=340,
        margin={"t": 50, "b": 40},
    )
    return figure


def confusion_chart(confusion: dict) -> go.Figure:
    figure = px.imshow(
        confusion["matrix"],
        x=confusion["predicted"] if "predicted" in confusion else confusion["labels"],
        y=confusion["labels"],
        text_auto=True,
        color_continuous_scale="Blues",
        labels={"x": "answered", "y": "expected", "color": "count"},
        title="Confusion matrix (tuned model)",
    )
    figure.update_layout(height=420, margin={"t": 50, "b": 40})
    return figure
