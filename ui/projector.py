"""How the app looks, in one place: the busy indicator, the projector mode (?present=1), phones, and the CSS for
them.

Streamlit only (no torch): app.py applies it before anything heavy is imported, so the busy bar already shows
during a cold start. Pages ask `scaled(px)` for their pictures' sizes, which grow in projector mode.
"""

from __future__ import annotations

import time

import streamlit as st

from ui.query import from_link, remember

PRESENT_KEY = "present"  # session_state and the URL: ?present=1
PRESENT_SCALE = 1.6  # pictures drawn this much larger on a projector
CLEAR_PAUSE_S = 0.05  # long enough for the server's loop to send a cleared slot before it is refilled

# Always: the app's own busy indicator (Streamlit's is hidden by the minimal toolbar), and room for long labels.
# stApp carries the script's run state; a bar and a label appear once a run has lasted 0.3 s, so quick reruns
# do not flicker.
BASE_CSS = """
[data-testid="stApp"][data-test-script-state="running"]::before,
[data-testid="stApp"][data-test-script-state="rerunRequested"]::before {
  content: ""; position: fixed; top: 0; left: 0; right: 0; height: 5px; z-index: 1000001; opacity: 0;
  background: linear-gradient(90deg, transparent 0%, #ff4b4b 50%, transparent 100%) 0 0 / 40% 100% no-repeat;
  animation: aex-appear 0s linear .3s forwards, aex-slide 1.1s ease-in-out .3s infinite;
}
[data-testid="stApp"][data-test-script-state="running"]::after,
[data-testid="stApp"][data-test-script-state="rerunRequested"]::after {
  content: "Working…"; position: fixed; top: 10px; right: 16px; z-index: 1000001; opacity: 0;
  padding: 2px 10px; border-radius: 10px; background: #ff4b4b; color: white; font-size: 14px;
  animation: aex-appear 0s linear .3s forwards;
}
@keyframes aex-appear { to { opacity: 1; } }
@keyframes aex-slide { from { background-position: -80% 0; } to { background-position: 180% 0; } }
/* The sidebar's pickers show a value in a one-line input: a little more room and a slightly smaller font fit the
   longest shipped model name ("Contractive single layer, 100 sigmoid units") instead of cutting it off. */
[data-testid="stSidebar"] { min-width: 336px; }
[data-testid="stSidebar"][data-collapsed="true"] { min-width: 0; }
[data-testid="stSidebar"] [data-testid="stSelectbox"] input { font-size: 0.8rem; }
/* A checkbox's or toggle's label wraps onto a second line instead of being cut off in a narrow column. */
[data-testid="stCheckbox"] [data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"],
[data-testid="stCheckbox"] [data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"] p {
  white-space: normal; overflow: visible; }
/* KaTeX's stacked parts (an aligned formula's rows) reach 2 px past the formula's right edge, which let a display
   formula that fills its box scroll sideways by 2 px. */
.katex-display { padding-right: 2px; }
"""

# Phones (Streamlit's own breakpoint, 640 px): nothing scrolls sideways. Tables and tab bars wrap, display maths
# wraps at its break points (relations, operators, \allowbreak) in a slightly smaller size, and a table too wide
# to wrap (ui/tables.py) shows as one line per row instead. Reconstructions' gallery (pages/reconstructions.py)
# shows two pairs a line and one row of eight at a time, with its pager, which wider screens do not need.
PHONE_CSS = """
@media (max-width: 640px) {
  [data-testid="stTable"] table { width: 100%; }
  [data-testid="stTable"] th, [data-testid="stTable"] td { white-space: normal; padding: .25rem .3rem;
    font-size: .8rem; }
  [data-testid="stTable"] [data-testid="stMarkdownContainer"] p { white-space: normal; overflow-wrap: anywhere; }
  [data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap; row-gap: .25rem; }
  .katex-display > .katex { font-size: 1.05em; }
  .katex-display > .katex, .katex-display > .katex > .katex-html { white-space: normal; }
  [class*="st-key-wide_table_"] { display: none; }
  .st-key-recon_gallery [data-testid="stHorizontalBlock"] { flex-wrap: wrap; row-gap: .5rem; }
  .st-key-recon_gallery [data-testid="stColumn"] { flex: 0 0 calc(50% - .5rem) !important;
    width: calc(50% - .5rem) !important; min-width: 0 !important; }
  .st-key-recon_gallery [data-testid="stColumn"]:not(:has(img)) { display: none; }
  .st-key-recon_gallery [data-testid="stColumn"] [data-testid="stVerticalBlock"] { align-items: center; }
  [class*="st-key-recon_row_off_"] { display: none; }
}
@media (min-width: 641px) {
  [class*="st-key-table_rows_"], .st-key-recon_page { display: none; }
}
"""

# Projector mode: no wasted top padding, narrow side margins, larger text and captions, pictures kept crisp
# when the browser scales them. Pages draw their pictures larger through scaled().
PRESENT_CSS = """
[data-testid="stHeader"] { background: transparent; pointer-events: none; }
[data-testid="stHeader"] button, [data-testid="stHeader"] a { pointer-events: auto; }
[data-testid="stMainBlockContainer"] { padding-top: 3rem; padding-left: 1.5rem; padding-right: 1.5rem;
  max-width: none; }
[data-testid="stMain"] { font-size: 1.1rem; }
[data-testid="stMain"] h1 { font-size: 2.2rem; padding-top: 0; padding-bottom: .4rem; }
[data-testid="stMain"] [data-testid="stCaptionContainer"],
[data-testid="stMain"] [data-testid="stImageCaption"] { font-size: 1.05rem; color: rgb(61, 63, 74); }
[data-testid="stMain"] [data-testid="stMarkdown"] p, [data-testid="stMain"] [data-testid="stAlert"] p,
[data-testid="stMain"] [data-testid="stMarkdown"] li { font-size: 1.1rem; }
[data-testid="stMain"] [data-testid="stWidgetLabel"] p, [data-testid="stMain"] [data-testid="stTab"] p {
  font-size: 1.05rem; }
[data-testid="stMain"] [data-testid="stImage"] img { image-rendering: pixelated; }
/* A page's key picture (key_picture()) is never taller than what is left of the screen under the page's top. */
.st-key-key_picture [data-testid="stImage"] img { max-height: calc(100vh - 290px); width: auto !important; }
"""


def presenting() -> bool:
    """Whether projector mode is on in this session."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def scaled(px: int) -> int:
    """A picture's on-screen size, larger in projector mode."""
    return round(px * PRESENT_SCALE) if presenting() else px


def apply() -> None:
    """app.py, every run, before the page: read ?present= (a link's value wins over this session's), collapse the
    sidebar in projector mode, and send the CSS."""
    linked = from_link(PRESENT_KEY)
    if linked is not None or PRESENT_KEY not in st.session_state:
        st.session_state[PRESENT_KEY] = linked == "1" or (linked is None and st.query_params.get(PRESENT_KEY) == "1")
    on = presenting()
    # The frontend acts on a change of this value only, so the sidebar can still be opened by hand.
    st.set_page_config(initial_sidebar_state="collapsed" if on else "auto")
    st.html(f"<style>{BASE_CSS}{PHONE_CSS}{PRESENT_CSS if on else ''}</style>")


def toggle() -> None:
    """The projector-mode switch (in the sidebar), kept in the URL as ?present=1."""
    st.toggle("Projector mode", key=PRESENT_KEY,
              help="For a projector or a shared screen: the sidebar folds away, the top padding goes, and pictures "
                   "and captions get larger. In the address bar as present=1, so a link opens in this mode.")
    write_present()


def write_present() -> None:
    if presenting():
        if st.query_params.get(PRESENT_KEY) != "1":
            st.query_params[PRESENT_KEY] = "1"
        remember(PRESENT_KEY, "1")
    else:
        if PRESENT_KEY in st.query_params:
            del st.query_params[PRESENT_KEY]
        remember(PRESENT_KEY, None)


def key_picture():
    """A container for the picture a page is for: in projector mode it fits on the screen under the page's top
    (title, a line of text, the pickers, the tabs) instead of running below the fold. One per page."""
    return st.container(key="key_picture")


def cleared_slot():
    """An st.empty() whose clearing reaches the browser at once, for a view about to show another model: the
    old model's numbers go, instead of standing beside the new model's name until they are redrawn.

    Streamlit merges an empty slot with a container sent to the same place before its queue is flushed, and a
    container inherits the old one's children, so a brief pause lets the server send the empty slot first. Used
    only when the model changed, where the new view takes far longer than the pause."""
    slot = st.empty()
    time.sleep(CLEAR_PAUSE_S)
    return slot
