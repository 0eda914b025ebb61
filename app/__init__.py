"""The web app: the Streamlit entry script (app/main.py, `studio serve` runs it) and the helpers
the pages in pages/ share (ui: start-up, sign-in, sidebar; editors: answer and format editors).

pages -> studio -> storage: this package and pages/ are the only code that imports streamlit.
"""
