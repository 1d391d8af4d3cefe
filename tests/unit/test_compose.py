"""compose.yaml and deploy/haproxy.cfg, checked without Docker (no engine on these machines): two app replicas
behind HAProxy with a sticky cookie, one Redis, N workers, all from the Dockerfile's image, started with the
commands and variables the app, the job engine (models.jobs) and the README use. Either side changing alone
fails here."""

from __future__ import annotations

import json
import re
import shlex
from urllib.parse import urlsplit

import pytest
import yaml

from models.jobs import QUEUE_ENV, WORKER_MODULE, WORKERS_ENV
from tests import ROOT
from tests.unit.test_deploy import PORT, instructions, only

REDIS_PORT = 6379  # redis-server's own default, unless its command names --port


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text())


def command(service: dict) -> list[str]:
    value = service.get("command", [])
    return shlex.split(value) if isinstance(value, str) else list(value)


def built_here(services) -> dict[str, dict]:
    """The services that run this repository's image (built from its Dockerfile)."""
    return {name: s for name, s in services.items() if "build" in s}


def named(services, starts: list[str]) -> tuple[str, dict]:
    found = [(name, s) for name, s in services.items() if command(s)[:len(starts)] == starts]
    assert len(found) == 1, (starts, [name for name, _ in found])
    return found[0]


def app(services) -> tuple[str, dict]:
    return named(services, ["streamlit", "run"])


def redis_services(services) -> dict[str, dict]:
    return {name: s for name, s in services.items() if s.get("image", "").split(":")[0] == "redis"}


def haproxy_sections(text: str) -> dict[str, list[list[str]]]:
    """'backend app' -> its lines as words, comments dropped."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = sections.setdefault(line.strip(), [])
        else:
            current.append(line.split())
    return sections


@pytest.fixture(scope="module")
def haproxy(services) -> dict[str, list[list[str]]]:
    proxy = services["proxy"]
    assert proxy["image"].startswith("haproxy:")
    mounts = [v.split(":") for v in proxy["volumes"]]
    config = [source for source, target, *_ in mounts if target == "/usr/local/etc/haproxy/haproxy.cfg"]
    assert config == ["./deploy/haproxy.cfg"], mounts  # where the official image reads its configuration
    return haproxy_sections((ROOT / config[0]).read_text())


# --- the image and its commands -------------------------------------------------------------------------------
def test_app_and_workers_run_the_dockerfiles_image(services):
    ours = built_here(services)
    assert set(ours) == {app(services)[0], named(services, ["python", "-m", WORKER_MODULE])[0]}
    assert {s["build"] for s in ours.values()} == {"."}  # the Dockerfile at the repository root
    assert len({s["image"] for s in ours.values()}) == 1  # one image, built once, never pulled


def test_the_app_starts_as_the_dockerfile_and_readme_start_it(services, dockerfile):
    # test_deploy.py holds the Dockerfile's CMD to the README's command 1; this holds compose to the Dockerfile
    assert command(app(services)[1]) == json.loads(only(dockerfile, "CMD"))


def test_workers_start_the_job_engines_worker_module(services):
    assert WORKER_MODULE == "models.jobs.worker"  # the name the README and the job engine use
    _, worker = named(services, ["python", "-m", WORKER_MODULE])
    assert command(worker) == ["python", "-m", WORKER_MODULE]
    assert worker["deploy"]["replicas"] >= 1
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"


def test_two_app_replicas_reachable_only_through_the_proxy(services):
    _, service = app(services)
    assert service["deploy"]["replicas"] == 2
    assert "ports" not in service  # a published port would bypass the sticky cookie (and clash between replicas)


# --- the queue --------------------------------------------------------------------------------------------------
def test_every_app_and_worker_shares_the_one_redis_queue(services):
    (redis_name, redis), = redis_services(services).items()
    words = command(redis)
    port = int(words[words.index("--port") + 1]) if "--port" in words else REDIS_PORT
    for name, service in built_here(services).items():
        url = urlsplit(service["environment"][QUEUE_ENV])
        assert (url.scheme, url.hostname, url.port or REDIS_PORT) == ("redis", redis_name, port), name
        assert re.fullmatch(r"/\d+", url.path), f"{name}: a database number, as redis://host:port/db"


def test_redis_is_capped_and_keeps_nothing_on_disk(services):
    (_, redis), = redis_services(services).items()
    words = command(redis)
    option = {words[i]: words[i + 1] for i in range(1, len(words) - 1) if words[i].startswith("--")}
    assert option["--save"] == "" and option["--appendonly"] == "no"
    assert option["--maxmemory-policy"] == "noeviction"  # a queued run is never silently evicted
    cap = int(option["--maxmemory"].removesuffix("gb")) * 2**30
    limit = redis["deploy"]["resources"]["limits"]["memory"]
    assert cap < int(limit.removesuffix("m")) * 2**20  # the container leaves Redis room above its data


def test_a_worker_trains_one_run_per_cpu_of_its_limit(services):
    _, worker = named(services, ["python", "-m", WORKER_MODULE])
    assert int(worker["environment"][WORKERS_ENV]) == float(worker["deploy"]["resources"]["limits"]["cpus"])


# --- the proxy --------------------------------------------------------------------------------------------------
def test_the_proxy_sends_each_browser_back_to_its_replica(services, haproxy):
    app_name, service = app(services)
    backends = [lines for section, lines in haproxy.items() if section.startswith("backend ")]
    assert len(backends) == 1
    backend = backends[0]
    cookie = next(line for line in backend if line[0] == "cookie")
    assert "insert" in cookie  # HAProxy sets the cookie itself: stickiness needs nothing from Streamlit
    servers = [line for line in backend if line[0] in ("server", "server-template")]
    assert servers
    for line in servers:
        if line[0] == "server-template":  # one slot per replica found by Docker's DNS, each with its own cookie
            _, _, slots, address, *options = line
            assert int(slots.split("-")[-1]) >= service["deploy"]["replicas"] and "dynamic" in cookie
            assert "resolvers" in options and any(k[0] == "dynamic-cookie-key" for k in backend)
        else:  # a replica named by hand: its own cookie value
            _, _, address, *options = line
            assert "cookie" in options
        assert address == f"{app_name}:{PORT}" and "check" in options
    check = next(line for line in backend if line[:2] == ["option", "httpchk"])
    assert check[-1] == "/_stcore/health"


def test_ports_line_up_from_the_browser_to_the_app(services, haproxy, dockerfile):
    assert only(dockerfile, "EXPOSE") == str(PORT)
    assert f"--server.port={PORT}" in command(app(services)[1])
    frontend = next(lines for section, lines in haproxy.items() if section.startswith("frontend "))
    bind = next(line[1] for line in frontend if line[0] == "bind")
    published = [p.split(":") for p in services["proxy"]["ports"]]
    assert [container for *_, container in published] == [bind.rsplit(":", 1)[-1]]
    assert bind.rsplit(":", 1)[-1] == str(PORT)  # the README's Spaces port, end to end
    monitor = next(line[1] for line in frontend if line[0] == "monitor-uri")
    assert services["proxy"]["healthcheck"]["test"][-1] == f"http://127.0.0.1:{PORT}{monitor}"


def test_proxy_times_out_idle_requests_but_not_open_websockets(haproxy):
    defaults = haproxy["defaults"]
    timeouts = {line[1]: line[2] for line in defaults if line[0] == "timeout"}
    assert timeouts["tunnel"].endswith("h")  # a tab's websocket lives for a lesson
    assert ["mode", "http"] in defaults  # cookies need HTTP mode, not TCP


# --- health and images ------------------------------------------------------------------------------------------
def test_every_service_checks_its_health_and_the_app_as_the_dockerfile_does(services, dockerfile):
    assert all("healthcheck" in s for s in services.values()), [n for n, s in services.items() if "healthcheck"
                                                                 not in s]
    health = only(dockerfile, "HEALTHCHECK")
    flags = dict(re.findall(r"--([a-z-]+)=(\S+)", health))
    _, service = app(services)
    assert service["healthcheck"]["test"] == ["CMD", *json.loads(health.split("CMD", 1)[1])]
    assert {k.replace("_", "-"): v for k, v in service["healthcheck"].items() if k not in ("test", "retries")} == flags
    _, worker = named(services, ["python", "-m", WORKER_MODULE])
    # the image's check polls the web port, which a worker never serves: it must not inherit it
    assert f":{PORT}" not in " ".join(worker["healthcheck"]["test"]) and QUEUE_ENV in worker["healthcheck"]["test"][-1]
    (_, redis), = redis_services(services).items()
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_no_image_floats_on_latest(services):
    for name, service in services.items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {service['image']} (pin a tag)"


def test_the_deploy_guide_names_the_same_commands_and_variables():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide.split("## Many students: compose", 1)[1].split("\n## ", 1)[0]
    for needed in (f"python -m {WORKER_MODULE}", QUEUE_ENV, WORKERS_ENV, "docker compose up",
                   "--scale worker=", "deploy/haproxy.cfg"):
        assert needed in section, needed
