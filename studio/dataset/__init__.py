"""The dataset: the input-output examples experts write and review.

- `examples`: storing an example, its status flow (draft, submitted, approved, rejected) and every change.
- `messages`: an example's chat messages (its input, its answer).
- `history`: an example's revisions, and restoring an old one.
- `review`: the review queue.
- `bulk`: tagging, changing status or deleting everything a filter selects.
- `search`: the filter an expert sets, one sorted page at a time (full-text where DuckDB's FTS loads).
- `splits`: seeded, stratified, leakage-aware train / held-out splits.
- `snapshots`: freezing the examples a run trains and evaluates on.
"""
