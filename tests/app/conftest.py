"""AppTest runs each page in this process, without a server."""

import pytest


@pytest.fixture(autouse=True)
def navigation_only(request, monkeypatch):
    """AppTest resets Streamlit's legacy pages/-folder flag for each app; keep it off so switch_page goes
    through app.py as in a running server (where ui.legacy_pages.ensure_routed turns it off on a deep link).
    Tests marked `legacy_pages` keep Streamlit's own behaviour, to check that guard."""
    from streamlit.runtime.pages_manager import PagesManager

    if request.node.get_closest_marker("legacy_pages"):
        return
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(autouse=True)
def pool(request, monkeypatch):
    """The Train page's queue in an app test: one worker thread in this process, so a test can block it and
    monkeypatch reaches the job (a worker Python takes seconds to start and warm). A test parametrized with
    `pool="process"` (indirect, marker slow) keeps the page's own queue: worker processes, as a server runs it."""
    from models.jobs.embedded import EmbeddedQueue
    from ui.train import runs

    if getattr(request, "param", "thread") == "process":
        yield runs.training_pool()
        return
    queue = EmbeddedQueue(1, "thread", time_cap=runs.MAX_SECONDS, seconds_per_work=runs.SECONDS_PER_UNIT)
    monkeypatch.setattr(runs, "_POOL", queue)
    yield queue
    queue.shutdown()
