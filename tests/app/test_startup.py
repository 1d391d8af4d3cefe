"""A fast first page: Home is drawn before torch is imported (app.py runs it before the sidebar, which loads a
model), and nothing heavy that neither the first page nor the sidebar needs is imported on the way.
benchmarks/startup.py measures the effect in a real browser; this checks the order it relies on."""

import json
import subprocess
import sys

from tests import ROOT

HEAVY = ["torch", "torchvision", "pandas", "pyarrow", "scipy", "sklearn", "skimage"]

# Runs app.py in AppTest in a fresh interpreter and prints, in order, the first import of each HEAVY module and
# each st.title drawn, after the default page and then after /latent.
PROBE = """
import json, sys
HEAVY = {heavy!r}
events = []

class FirstImports:
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in sys.modules and name not in events:
            events.append(name)
        return None

sys.meta_path.insert(0, FirstImports())
import streamlit as st
from streamlit.testing.v1 import AppTest

title = st.title
def recorded_title(body, *args, **kwargs):
    events.append("title: " + body)
    return title(body, *args, **kwargs)
st.title = recorded_title

at = AppTest.from_file({app!r}, default_timeout=180).run()
home = list(events)
ok = not at.exception and at.sidebar.selectbox(key="sidebar_model").value
at.switch_page("pages/latent.py").run()
print(json.dumps({{"home": home, "latent": events[len(home):], "ok": bool(ok and not at.exception)}}))
"""


def run_probe() -> dict:
    code = PROBE.format(heavy=HEAVY, app=str(ROOT / "app.py"))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_home_is_drawn_before_torch_and_the_start_up_path_stays_lean():
    events = run_probe()
    assert events["ok"]
    home = events["home"]
    # Home's title goes out first; torch comes only with the sidebar's model, after it.
    assert home == ["title: Autoencoder Explorer", "torch"], home
    # The Latent page needs none of the rest either (torchvision alone takes seconds to import).
    # The latent plane's bridge sends its view as one JSON string, so Streamlit's dataframe check (pandas,
    # pyarrow) does not run either.
    assert not set(events["latent"]) & {"torchvision", "scipy", "sklearn", "skimage", "pandas", "pyarrow"}, \
        events["latent"]
