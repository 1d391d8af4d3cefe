"""The real browser, for every test in this folder: `streamlit run app.py` on a loopback port and Debian's
Chromium driven by Playwright, both from benchmarks/harness.py (the one harness the benchmarks use too).

Screenshots land in test-artifacts/ (look at them). Nothing is installed here: .ci/run (scripts/setup.sh --dev)
provides /usr/bin/chromium and the playwright package.
"""

import re

import pytest

from benchmarks.harness import chromium, running_app


@pytest.fixture(scope="session")
def server(worker_id):
    """One app server for every browser test that needs no special one (a fresh start, Redis, one trainer, the
    offline audit make their own), per test worker: a server per module started and warmed its models each time
    (here about 1 s to start and 2 s more for a cold first /latent)."""
    with running_app(f"streamlit-browser-{worker_id}.log") as url:
        yield url


@pytest.fixture
def own_server(request):
    """A server of this test's own, started for it: a link met first by a fresh server, or caches that have not yet
    computed what the test is about to ask for."""
    name = re.sub(r"[^\w.-]+", "-", request.node.name)[:80]  # a parametrized id can hold quotes and slashes
    with running_app(f"streamlit-own-{name}.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    # Streamlit scrolls inside its own container, so full_page captures only the viewport: make it tall.
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    page = context.new_page()
    yield page
    context.close()
