"""A self-contained HTML report of one run's evaluation, for people who never open the studio.

Everything is inline (plotly.js included once), so the file opens offline anywhere.
"""

from __future__ import annotations

from html import escape

from studio.evaluation import charts
from studio.evaluation.dashboard import Dashboard, side_by_side
from studio.evaluation.slices import slice_dimensions
from studio.evaluation.verdict import Verdict

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#1e293b}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:14px}td,th{border:1px solid #cbd5e1;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f1f5f9}.verdict{padding:1em;border-radius:8px;background:#fef9c3}
.ship{background:#dcfce7}.do-not-ship{background:#fee2e2}"""


def render_report(board: Dashboard) -> str:
    """The dashboard (as built by studio.evaluation.dashboard.build_dashboard) as one HTML document."""
    parts = [f"<h1>Evaluation of run {escape(board.run_id)} ({escape(board.project)})</h1>", _verdict(board.verdict)]
    if board.leaderboard:
        parts += [
            "<h2>Leaderboard</h2>",
            f"<p>The numbers come from {escape(board.numbers_from)}.</p>" if board.numbers_from else "",
            _leaderboard(board),
            _figure(charts.leaderboard_chart(board.leaderboard), True),
        ]
        for dimension in (d for d in slice_dimensions(board.slices) if d != "input cluster"):
            parts.append(_figure(charts.slice_chart(board.slices, dimension, board.metric), False))
    routing = board.routing
    if routing["bands"]:
        parts += [
            "<h2>Confidence routing</h2>",
            _table(
                ["band", "share", "count", "accuracy"],
                [
                    [
                        b["band"],
                        f"{100 * b['share']:.0f}%",
                        b["count"],
                        "–" if b["accuracy"] is None else f"{b['accuracy']:.2f}",
                    ]
                    for b in routing["bands"]
                ],
            ),
            _figure(
                charts.coverage_chart(routing["curve"], routing["thresholds"]["high"], routing["thresholds"]["low"]),
                False,
            ),
        ]
    parts += ["<h2>Side by side</h2>", _side_by_side(board)]
    return f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation {escape(board.run_id)}</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"


def _verdict(verdict: Verdict) -> str:
    steps = "".join(f"<li>{escape(step)}</li>" for step in verdict.next_steps)
    css = verdict.decision.replace(" ", "-")
    warned = "".join(f"<p><strong>{escape(warning)}</strong></p>" for warning in verdict.warnings)
    resolution = f"<p>{escape(verdict.resolution)}</p>" if verdict.resolution else ""
    return f"<div class='verdict {css}'><strong>{escape(verdict.headline)}</strong>{warned}{resolution}<ul>{steps}</ul></div>"


def _leaderboard(board: Dashboard) -> str:
    metric = board.metric
    return _table(
        ["rank", "model", metric, "95% interval", "n"],
        [[r.rank, r.label, f"{r.primary_value:.3f}", f"{r.low:.3f} – {r.high:.3f}", r.n] for r in board.leaderboard],
    )


def _side_by_side(board: Dashboard) -> str:
    rows = side_by_side(board.predictions, board.metric, board.comparison)
    if not rows:
        return "<p>No predictions.</p>"
    columns = [c for c in rows[0] if c not in ("example_id", "tags")]
    return _table(columns, [[row.get(c, "") for c in columns] for row in rows])


def _table(header: list, rows: list[list]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _figure(figure, include_plotlyjs: bool) -> str:
    return figure.to_html(full_html=False, include_plotlyjs="inline" if include_plotlyjs else False)
