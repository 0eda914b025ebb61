"""The studio's Streamlit entry point: `make run` (or `studio serve`) starts it.

It prepares the data home once (default model, demo project, live runs), lets nobody
further than the sign-in form while sign-in is on and nobody is signed in (see
docs/security.md), draws the project picker and hands over to the page the user chose.
"""

import streamlit as st

from studio import ui
from studio.paths import data_home

st.set_page_config(page_title="Fine-Tuning Studio", page_icon=":material/tune:", layout="wide")
ui.bootstrap(str(data_home()))
PAGES = {
    "Data": [
        st.Page("pages/examples.py", title="Examples", icon=":material/table_rows:", default=True),
        st.Page("pages/write.py", title="Write", icon=":material/edit_note:"),
        st.Page("pages/review.py", title="Review", icon=":material/rate_review:"),
        st.Page("pages/quality.py", title="Quality", icon=":material/fact_check:"),
        st.Page("pages/coverage.py", title="Coverage", icon=":material/scatter_plot:"),
        st.Page("pages/transfer.py", title="Import & export", icon=":material/swap_vert:"),
    ],
    "Model": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/leaderboard:"),
        st.Page("pages/playground.py", title="Playground", icon=":material/forum:"),
    ],
    "Admin": [
        st.Page("pages/project.py", title="Project", icon=":material/assignment:"),
        st.Page("pages/new_project.py", title="New project", icon=":material/add_circle:"),
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    ],
}
if not ui.sign_in_gate(PAGES):
    st.stop()
page = st.navigation(PAGES)  # before the sidebar: its "New project" link needs the pages registered
st.session_state["project"] = ui.sidebar()
ui.run_page(page)
