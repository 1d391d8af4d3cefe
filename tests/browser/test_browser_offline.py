"""Offline-clean: visiting every page makes no request to any host but the app's own, in the browser or on the
server. A classroom without internet, or a hosted demo behind a strict proxy, must see the same app.

- In the browser: every request and websocket of every page, and every URL a page refers to (the favicon
  included, which headless Chromium may never fetch).
- On the server: every outbound connect and name lookup of the Streamlit process (Python's audit hooks), started
  as the Dockerfile starts it, on every interface: that is when Streamlit would look up an external IP.
The browser comes from tests/browser/conftest.py and wait_idle from benchmarks/harness.py; the server is this module's own, audited.
"""

from __future__ import annotations

import ast
import ipaddress
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from benchmarks.harness import ARTIFACTS, PAGES, assert_no_exception, running_app, wait_idle

pytestmark = pytest.mark.browser
APP_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about"}  # inline content: nothing leaves the browser
PROBE = "http://offhost.invalid/probe.png"  # .invalid never resolves: the probe sends nothing anywhere
LOCAL_NAMES = {None, "", "localhost", "0.0.0.0", "::"}

# Logs every outbound connect and name lookup of this Python process to $NET_AUDIT_LOG.
AUDIT_HOOK = """
import os, sys
log = open(os.environ["NET_AUDIT_LOG"], "a", buffering=1)

def audit(event, args):
    if event == "socket.connect":
        log.write(f"connect\\t{args[1]!r}\\n")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        log.write(f"lookup\\t{args[0]!r}\\n")

sys.addaudithook(audit)
"""
# `python -c AUDITED run app.py ...`: Streamlit's own command line, audited.
AUDITED = AUDIT_HOOK + """
from streamlit.web.cli import main
sys.argv = ["streamlit", *sys.argv[1:]]
main()
"""

# Every URL the document refers to: icons, stylesheets, scripts, images, frames, media, and url(...) in styles.
DOCUMENT_URLS_JS = """() => {
  const urls = [];
  for (const el of document.querySelectorAll('link[href], script[src], img[src], iframe[src], source[src], '
                                             + 'video[src], audio[src], embed[src], object[data]')) {
    urls.push(el.href || el.src || el.data);
  }
  for (const el of document.querySelectorAll('[style*="url("]')) {
    for (const m of el.getAttribute('style').matchAll(/url\\(["']?([^"')]+)/g)) urls.push(new URL(m[1], location).href);
  }
  return urls.filter(Boolean);
}"""


def off_host(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in LOCAL_SCHEMES and parts.hostname not in APP_HOSTS


def leaves_the_machine(line: str) -> bool:
    """An audit log line naming another host: a lookup of any name but a local one, or a connect (TCP or UDP) to
    an address that is not loopback or unspecified (a Unix socket's path is local)."""
    kind, value = line.split("\t", 1)
    target = ast.literal_eval(value)  # the repr of a host name or an address tuple
    if kind == "lookup":
        name = target.decode() if isinstance(target, bytes) else target
        return name not in LOCAL_NAMES and not _loopback(name)
    return isinstance(target, tuple) and not _loopback(str(target[0]))


def _loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@pytest.fixture(scope="module")
def audited_server():
    """`streamlit run app.py` as the Dockerfile starts it (every interface), its outbound traffic logged."""
    ARTIFACTS.mkdir(exist_ok=True)
    audit_log = ARTIFACTS / "offline-audit.log"
    audit_log.write_text("")
    with running_app("streamlit-offline.log", launcher=("-c", AUDITED), address="0.0.0.0",
                     env={"NET_AUDIT_LOG": str(audit_log)}) as url:
        yield url, audit_log


@pytest.fixture
def recorded(browser):  # noqa: F811
    """A fresh browser context and every request (and websocket) any of its pages makes: (page, url)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    seen: list[tuple[str, str]] = []
    where = {"page": "?"}
    context.on("request", lambda request: seen.append((where["page"], request.url)))
    page = context.new_page()
    page.on("websocket", lambda ws: seen.append((where["page"], ws.url)))
    yield page, seen, where
    context.close()


def test_no_page_requests_or_refers_to_another_host(audited_server, recorded):
    server, audit_log = audited_server
    page, seen, where = recorded
    referred: list[tuple[str, str]] = []
    for name in PAGES:
        where["page"] = f"/{name}"
        page.goto(f"{server}/{name}")
        wait_idle(page)
        assert_no_exception(page, where["page"])
        page.wait_for_timeout(1000)  # late loads: fonts, the favicon, lazily loaded chunks
        referred += [(where["page"], url) for url in page.evaluate(DOCUMENT_URLS_JS)]
    app_requests = [url for _, url in seen if not off_host(url)]
    assert any("/_stcore/stream" in url for url in app_requests), "the app's websocket was not seen"
    assert any(url.endswith(".js") for url in app_requests), "the app's scripts were not seen"
    assert [(p, url) for p, url in seen if off_host(url)] == []
    assert [(p, url) for p, url in referred if off_host(url)] == []
    assert [line for line in audit_log.read_text().splitlines() if leaves_the_machine(line)] == []

    # The recorder sees a request that page code makes to another host (so the empty lists above mean something).
    page.evaluate("url => { new Image().src = url; }", PROBE)
    page.wait_for_timeout(500)
    assert (where["page"], PROBE) in seen


def test_favicon_is_inline(audited_server, recorded):
    page, _, _ = recorded
    page.goto(f"{audited_server[0]}/latent")
    wait_idle(page)
    icons = page.evaluate("() => [...document.querySelectorAll('link[rel~=\"icon\"]')].map(l => l.href)")
    assert icons and not [url for url in icons if off_host(url)], icons


def test_the_audit_sees_a_lookup_of_another_host(tmp_path):
    """The server-side audit catches what Streamlit's start-up banner does without logger.hideWelcomeMessage."""
    log = tmp_path / "audit.log"
    code = AUDIT_HOOK + """
import socket
try:
    socket.getaddrinfo("offhost.invalid", 80)
except OSError:
    pass
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).connect(("192.0.2.1", 9))  # UDP: connect sends nothing
"""
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "NET_AUDIT_LOG": str(log)}, check=True,
                   timeout=60)
    lines = log.read_text().splitlines()
    assert [line for line in lines if leaves_the_machine(line)] == lines and len(lines) == 2, lines
    assert not leaves_the_machine("connect\t('127.0.0.1', 8501)") and not leaves_the_machine("lookup\t'localhost'")
