"""Deployment files, checked without Docker (no engine on these machines): the Dockerfile installs and starts the app
the way the README and CI do, at requirements.txt's pins, as uid 1000 on the port the README's Spaces front matter
names, with a health check; .dockerignore keeps what the app runs on; the upload cap fits the app's own limits."""

import io
import json
import re
import shlex
import tomllib
import zipfile
from fnmatch import fnmatch
from inspect import signature
from pathlib import Path

import pytest
from streamlit import config as streamlit_config

from models import checkpoint
from models.data import load_user_images
from tests import ROOT

PORT = 7860  # the port Spaces' Docker SDK expects (app_port)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text())


def only(steps, name: str) -> str:
    found = [args for instruction, args in steps if instruction == name]
    assert len(found) == 1, (name, found)
    return found[0]


def env(steps) -> dict[str, str]:
    values = {}
    for instruction, args in steps:
        if instruction == "ENV":
            values |= dict(pair.split("=", 1) for pair in shlex.split(args))
    return values


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.split("#")[0].strip())
        if match:
            found[match[1].lower()] = match[2]
    return found


def readme_commands() -> list[str]:
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)[1]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_base_image_user_port_and_health_check(dockerfile):
    assert only(dockerfile, "FROM") == "python:3.11-slim"
    useradd = [args for instruction, args in dockerfile if instruction == "RUN" and "useradd" in args]
    assert len(useradd) == 1 and re.search(r"(--uid|-u) 1000 user$", useradd[0]), useradd
    assert only(dockerfile, "USER") == "user"
    # everything after USER runs as that user: no step installs or starts anything as root
    assert [i for i, _ in dockerfile].index("USER") < [i for i, _ in dockerfile].index("COPY")
    assert only(dockerfile, "EXPOSE") == str(PORT)
    health = only(dockerfile, "HEALTHCHECK")
    assert f"http://127.0.0.1:{PORT}/_stcore/health" in health and "CMD" in health


def test_start_command_is_the_readmes_on_the_spaces_port(dockerfile):
    command = json.loads(only(dockerfile, "CMD"))
    start = next(line for line in readme_commands() if "streamlit run" in line)
    readme_start = shlex.split(start.split("&&")[-1])  # .venv/bin/streamlit run app.py
    assert [Path(readme_start[0]).name, *readme_start[1:]] == command[:3] == ["streamlit", "run", "app.py"]
    assert command[3:] == [f"--server.port={PORT}", "--server.address=0.0.0.0"]
    workdir = only(dockerfile, "WORKDIR")
    assert env(dockerfile)["PATH"].startswith(f"{workdir}/.venv/bin:")  # `streamlit` is the venv's, as in the README


def test_install_is_the_readmes_and_cis_setup_script(dockerfile):
    runs = " && ".join(args for instruction, args in dockerfile if instruction == "RUN")
    steps = [step.strip() for step in runs.split("&&")]
    assert "scripts/setup.sh" in steps  # the README's command 1 without --dev: requirements.txt, no test tools
    assert "scripts/setup.sh --dev" in (ROOT / ".ci" / "run").read_text()  # CI installs through the same script
    assert any(line.startswith("scripts/setup.sh &&") for line in readme_commands())
    copied = [args.split()[-2] for instruction, args in dockerfile if instruction == "COPY"]
    assert copied[:2] == ["requirements.txt", "scripts/setup.sh"] and copied[-1] == "."
    # the CPU wheels go into the same .venv first, so setup.sh finds torch and torchvision already satisfied
    cpu_step = next(step for step in steps if CPU_INDEX in step)
    assert steps.index("python -m venv .venv") < steps.index(cpu_step) < steps.index("scripts/setup.sh")
    assert cpu_step.startswith(".venv/bin/pip install --index-url ")


def test_cpu_wheels_are_requirements_pins_of_torch_and_torchvision(dockerfile):
    runs = " && ".join(args for instruction, args in dockerfile if instruction == "RUN")
    cpu_step = next(step for step in runs.split("&&") if CPU_INDEX in step)
    from_cpu_index = dict(word.split("==") for word in cpu_step.split() if "==" in word)
    required = pins(ROOT / "requirements.txt")
    assert from_cpu_index == {"torch": required["torch"], "torchvision": required["torchvision"]}


def test_streamlit_settings_in_the_dockerfile_are_real_options(dockerfile):
    by_env_var = {option.env_var: key for key, option in streamlit_config.get_config_options().items()}
    streamlit_env = {name: value for name, value in env(dockerfile).items() if name.startswith("STREAMLIT_")}
    assert streamlit_env, "the Dockerfile sets no Streamlit option"
    for name in streamlit_env:
        assert name in by_env_var, f"{name} is no Streamlit option"
    assert by_env_var["STREAMLIT_SERVER_XSRF_COOKIE_SAME_SITE"] == "server.xsrfCookieSameSite"


def test_readme_front_matter_configures_the_space():
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n")
    front = dict(line.split(": ", 1) for line in text.split("---\n")[1].splitlines() if ": " in line)
    assert front["sdk"] == "docker" and int(front["app_port"]) == PORT
    assert "## Deploy" in text
    # the steps live in docs/deploy.md, which the README's Deploy section links to
    deploy_section = text.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    assert "(docs/deploy.md)" in deploy_section
    guide = (ROOT / "docs" / "deploy.md").read_text()
    assert "## Hugging Face Spaces" in guide and "## Streamlit Community Cloud" in guide
    assert f"app_port: {PORT}" in guide and "sdk: docker" in guide


# --- links between the Markdown files ----------------------------------------------------------------------------
# Screenshots a Markdown file shows that are still to be taken (in the running app, never drawn by hand). Remove a
# name once its file is committed: the test below then fails until the list is emptied of it.
SCREENSHOTS_TO_TAKE: set[str] = set()  # images the docs name that still need taking (none)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def anchors(path: Path) -> set[str]:
    """GitHub's anchor for each heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_every_relative_link_in_the_markdown_files_points_to_a_file():
    missing, bad_anchors, links = set(), [], 0
    for source in markdown_files():
        text = re.sub(r"```.*?```", "", source.read_text(), flags=re.DOTALL)  # code blocks hold no links
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            links += 1
            name, _, anchor = target.partition("#")
            path = (source.parent / name).resolve() if name else source
            if not path.exists():
                missing.add(path.relative_to(ROOT).as_posix())
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                bad_anchors.append(f"{source.relative_to(ROOT)}: {target}")
    assert links > 20  # the pattern still finds the links
    assert missing - SCREENSHOTS_TO_TAKE == set(), "links to files that do not exist"
    assert SCREENSHOTS_TO_TAKE - missing == set(), "a screenshot was committed: remove it from SCREENSHOTS_TO_TAKE"
    assert bad_anchors == []


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for these simple patterns: a pattern matches the path or one of its parent folders; a
    leading **/ matches at any depth."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch(prefix, pattern) for prefix in prefixes):
            return True
    return False


def test_dockerignore_keeps_what_the_app_runs_on():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "keep the matcher above honest: no exceptions"
    needed = ["app.py", "requirements.txt", "scripts/setup.sh", ".streamlit/config.toml", "pages/home.py",
              "ui/session_models.py", "ui/latent_plane/kernels.wasm", "models/autoencoders.py", "pretrained/catalog.json",
              "pretrained/mnist_vae2.safetensors", "pretrained/tied_untied_gap.json"]
    assert all((ROOT / path).exists() for path in needed)
    assert [path for path in needed if ignored(path, patterns)] == []
    unneeded = [".git/HEAD", ".venv/bin/python", "tests/unit/test_deploy.py", "test-artifacts/home.png",
                "ui/__pycache__/sidebar.cpython-311.pyc", "benchmarks/startup.py", "data/olivettifaces.mat",
                "docs/deploy.md", "compose.yaml", "deploy/haproxy.cfg"]
    assert [path for path in unneeded if not ignored(path, patterns)] == []


# --- the upload cap --------------------------------------------------------------------------------------------
def zip_bytes_for(total_content: int, files: int) -> int:
    """Size of a zip of `files` stored (uncompressed) entries holding `total_content` bytes, from the overhead of a
    real one: local and central headers per entry, named like a user's files."""
    sample = io.BytesIO()
    with zipfile.ZipFile(sample, "w", zipfile.ZIP_STORED) as archive:
        for i in range(100):
            archive.writestr(f"class_{i % 10}/image_{i:05d}.png", b"")
    return total_content + files * len(sample.getvalue()) // 100


def test_upload_cap_admits_every_upload_the_app_itself_accepts_and_little_more():
    cap_mb = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    # the browser refuses a file over cap × 10^6 bytes (× 2^20 on Windows); the server allows cap × 2^20
    cap_bytes = cap_mb * 10**6
    limits = signature(load_user_images).parameters
    largest_zip = zip_bytes_for(limits["max_total_bytes"].default, limits["max_files"].default)
    largest = {"checkpoint weights": checkpoint.MAX_WEIGHTS_BYTES, "checkpoint JSON": checkpoint.MAX_JSON_BYTES,
               "zip of images": largest_zip}
    assert {name: size for name, size in largest.items() if size > cap_bytes} == {}
    # the cap bounds the memory one upload takes on a shared server: no more than the largest accepted file needs
    assert cap_bytes <= 1.05 * max(largest.values()), (cap_mb, largest)
