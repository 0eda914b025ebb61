"""Fine-Tuning Studio: the domain layer (examples, checks, splits, runs, evaluation).

Nothing in this package imports streamlit: the web app's own helpers live in app/.
"""
