"""Evaluating a run: is the fine-tune better than prompting the same model?

- `answering`: the tuned model and the prompting baselines answer the held-out examples.
- `endpoint`: an optional baseline answered by an OpenAI-compatible endpoint.
- `metrics`: scoring answers by output format; `significance`: intervals and paired tests.
- `leaderboard`: every model ranked on one held-out set.
- `slices`: scores per tag, input length and input cluster.
- `routing`: confidence bands (straight through, human review, human workflow).
- `verdict`: ship or not, and why.
- `roundtrip`: does the merged, reloaded model answer the same?
- `dashboard`: everything the Evaluate page shows, as one frozen Dashboard; `charts`, `report`: its plotly
  figures and the self-contained HTML report.
"""
