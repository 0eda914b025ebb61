"""The studio's Streamlit entry point: `make run` (or `studio serve`) starts it.

It sits in app/, not beside pages/: Streamlit treats a pages/ folder next to its entry
script as the old file-based routing until st.navigation has run once, so a page's own
address opened as a server's first request would run that file alone. Here st.navigation
is the only router, and every address runs this script first.

It prepares the data home once (default model, demo project, live runs), lets nobody
further than the sign-in form while sign-in is on and nobody is signed in (see
docs/security.md), draws the project picker and hands over to the page the user chose.
"""

from pathlib import Path

import streamlit as st

from app import ui
from studio.paths import data_home

st.set_page_config(page_title="Fine-Tuning Studio", page_icon=":material/tune:", layout="wide")
ui.bootstrap(str(data_home()))
PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
PAGES = {
    "Data": [
        st.Page(PAGES_DIR / "examples.py", title="Examples", icon=":material/table_rows:", default=True),
        st.Page(PAGES_DIR / "write.py", title="Write", icon=":material/edit_note:"),
        st.Page(PAGES_DIR / "review.py", title="Review", icon=":material/rate_review:"),
        st.Page(PAGES_DIR / "quality.py", title="Quality", icon=":material/fact_check:"),
        st.Page(PAGES_DIR / "coverage.py", title="Coverage", icon=":material/scatter_plot:"),
        st.Page(PAGES_DIR / "transfer.py", title="Import & export", icon=":material/swap_vert:"),
    ],
    "Model": [
        st.Page(PAGES_DIR / "train.py", title="Train", icon=":material/model_training:"),
        st.Page(PAGES_DIR / "evaluate.py", title="Evaluate", icon=":material/leaderboard:"),
        st.Page(PAGES_DIR / "playground.py", title="Playground", icon=":material/forum:"),
        st.Page(PAGES_DIR / "deploy.py", title="Deploy", icon=":material/rocket_launch:"),
    ],
    "Admin": [
        st.Page(PAGES_DIR / "project.py", title="Project", icon=":material/assignment:"),
        # hidden here: its link sits at the top of the sidebar, above the project picker
        st.Page(PAGES_DIR / "new_project.py", title="New project", icon=":material/add_circle:", visibility="hidden"),
        st.Page(PAGES_DIR / "settings.py", title="Settings", icon=":material/settings:"),
    ],
}
if not ui.sign_in_gate(PAGES):
    st.stop()
navigation = st.navigation(PAGES, expanded=True)  # first: the sidebar links to pages it registers
st.session_state["project"] = ui.sidebar()
ui.run_page(navigation)
