"""Fine-Tuning Studio: the domain layer (examples, checks, splits, runs, evaluation).

Nothing in this package imports streamlit, except `studio/ui.py`.
"""
