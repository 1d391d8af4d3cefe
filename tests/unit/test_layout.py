"""The layout keeps the architecture visible: models/ is plain PyTorch and NumPy (no streamlit, nothing from the
Streamlit side), pages/ holds only the page scripts, and every source file reads in one sitting."""

import ast
import json
import subprocess
import sys

from tests import ROOT

MODELS = sorted((ROOT / "models").rglob("*.py"))
# The Streamlit side's plain modules: no streamlit, so they test directly (their docstrings say so).
PLAIN_UI = ["ui/pictures.py", "ui/features/plots.py", "ui/latent/plots.py", "ui/latent/axis_labels.py",
            "ui/train/form.py", "ui/train/runs.py", "ui/reconstructions/plots.py", "ui/latent_plane/views.py",
            "ui/latent_plane/payload.py"]
MAX_LINES = 400


def imported_modules(path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_nothing_under_models_imports_streamlit_or_the_streamlit_side():
    offending = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p)
                                                  if m.split(".")[0] in ("streamlit", "ui", "pages"))
                 for p in MODELS}
    assert {k: v for k, v in offending.items() if v} == {}


def test_importing_every_models_module_loads_no_streamlit():
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for p in MODELS]
    code = ("import importlib, json, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []


def test_the_plain_ui_modules_import_no_streamlit():
    assert {p: sorted(m for m in imported_modules(ROOT / p) if m.split(".")[0] == "streamlit")
            for p in PLAIN_UI} == {p: [] for p in PLAIN_UI}


def test_pages_holds_only_the_page_scripts_app_py_lists():
    listed = {node.args[0].value for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
              if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"}
    present = {str(p.relative_to(ROOT)) for p in (ROOT / "pages").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts}
    assert present == listed and len(listed) == 7


def test_no_source_file_is_over_400_lines():
    sources = [p for folder in ("models", "ui", "pages", "scripts", "benchmarks", "tests")
               for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".js")]
    sources.append(ROOT / "app.py")
    too_long = {str(p.relative_to(ROOT)): n for p in sources if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert too_long == {}


def test_no_function_in_models_is_over_60_lines():
    too_long = {f"{p.relative_to(ROOT)}:{node.name}": node.end_lineno - node.lineno + 1
                for p in MODELS for node in ast.walk(ast.parse(p.read_text()))
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60}
    assert too_long == {}
