"""Where local data files live: ./data beside the repo, ../shared/data, $AE_DATA_DIR or a folder given by name; and
how such a folder is named to a user (never a server path)."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
_DEFAULT_DIRS = (_REPO / "data", _REPO.parent / "shared" / "data")


def _candidate_dirs(explicit: str | os.PathLike | None) -> list[Path]:
    """Folders to search, best first. An explicit or AE_DATA_DIR folder is used alone, even if missing,
    so that error messages name the folder the user asked for."""
    if explicit is not None and str(explicit) != "":
        return [Path(explicit).expanduser()]
    env = os.environ.get("AE_DATA_DIR", "").strip()
    if env:
        return [Path(env).expanduser()]
    return [d for d in _DEFAULT_DIRS if d.is_dir()]


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """Where local data is looked for: `explicit`, else $AE_DATA_DIR, else the first existing of
    <repo>/data and <repo>/../shared/data; None when there is none."""
    dirs = _candidate_dirs(explicit)
    return dirs[0] if dirs else None


def _download_dir(explicit: str | os.PathLike | None) -> Path:
    # Downloads go where the user pointed, else into <repo>/data: the shared folder may be read-only.
    chosen = str(explicit) if explicit is not None and str(explicit) != "" else os.environ.get("AE_DATA_DIR", "").strip()
    return Path(chosen).expanduser() if chosen else _DEFAULT_DIRS[0]


def _shown(folder: Path) -> str:
    """A folder as a source line may show it: relative to the repo (./data, ../shared/data), else its own name.
    Source lines reach the page, and the server's absolute paths are not the user's business."""
    for base, prefix in ((_REPO, "./"), (_REPO.parent, "../")):
        try:
            return prefix + str(folder.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return f"a folder named {folder.name}"


def _looked_in(explicit: str | os.PathLike | None) -> str:
    dirs = _candidate_dirs(explicit)
    if not dirs:
        return (f"no data folder exists ({_shown(_DEFAULT_DIRS[0])} or {_shown(_DEFAULT_DIRS[1])}) and AE_DATA_DIR "
                f"is not set")
    return "looked in " + " and ".join(_shown(d) for d in dirs)


def _find(relative: str, explicit: str | os.PathLike | None) -> Path | None:
    """First candidate folder holding `relative` (several may exist: MNIST in ./data, Olivetti in shared)."""
    for d in _candidate_dirs(explicit):
        if (d / relative).is_file():
            return d
    return None
