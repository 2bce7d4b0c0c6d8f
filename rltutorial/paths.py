"""Where the project finds its shipped agents and writes what users make.

Two kinds of folders:

* **Shipped, read-only**: the agent zoo and its recordings. In a source checkout they
  are the repository's ``models/`` and ``recordings/``; an installed wheel carries the
  same files as package data (``rltutorial/zoo/models``, ``rltutorial/zoo/recordings``).
* **Writable**: newly trained agents, their recordings, training logs and studies. In a
  source checkout they live in the repository (trained agents join ``models/``); in an
  installed package they live in the user's data folder (``platformdirs``, e.g.
  ``~/.local/share/rltutorial`` on Linux), never in site-packages.

A source checkout is recognised by a ``pyproject.toml`` naming this project next to the
package folder. Agents are looked up in the writable folder first, then in the shipped
zoo, so an agent you train under a zoo name shadows the shipped one.

| location | checkout | installed | environment variable |
|---|---|---|---|
| writable root | the repository | user data folder | ``RLTUTORIAL_HOME`` |
| models (writable) | ``<root>/models`` | ``<root>/models`` | ``RLTUTORIAL_MODELS`` |
| recordings (writable) | ``<root>/recordings`` | ``<root>/recordings`` | ``RLTUTORIAL_RECORDINGS`` |
| runs (TensorBoard, monitor logs) | ``<root>/runs`` | ``<root>/runs`` | ``RLTUTORIAL_RUNS`` |
| studies | ``<root>/studies`` | ``<root>/studies`` | ``RLTUTORIAL_STUDIES`` |
| shipped zoo | ``<repo>/models`` | ``<package>/zoo/models`` | |
| data (cached tables) | ``<package>/data`` | ``<package>/data`` | ``RLTUTORIAL_DATA`` |
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "REPO_DIR",
    "home_dir",
    "models_dir",
    "recordings_dir",
    "runs_dir",
    "studies_dir",
    "data_dir",
    "zoo_dirs",
    "recording_dirs",
]

#: Folder of the installed ``rltutorial`` package.
PACKAGE_DIR = Path(__file__).resolve().parent


def _source_checkout(package_dir: Path) -> Path | None:
    """The repository root if ``package_dir`` sits in a source checkout, else None."""
    pyproject = package_dir.parent / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return package_dir.parent if 'name = "rltutorial"' in text else None


#: Root of the source checkout (holds ``models/``, ``notebooks/``, ``configs/``), or
#: None for an installed package.
REPO_DIR: Path | None = _source_checkout(PACKAGE_DIR)
#: Read-only folder of what the package ships: the repository root in a checkout, the
#: package data folder ``zoo/`` in an installed wheel.
_SHIPPED_DIR = REPO_DIR if REPO_DIR is not None else PACKAGE_DIR / "zoo"


def _location(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def home_dir() -> Path:
    """Root of everything the user makes: the checkout, or the user's data folder."""
    if REPO_DIR is not None:
        default = REPO_DIR
    else:
        import platformdirs

        default = platformdirs.user_data_path("rltutorial", appauthor=False)
    return _location("RLTUTORIAL_HOME", default)


def models_dir() -> Path:
    """Writable folder of trained agents, one sub-folder per agent name."""
    return _location("RLTUTORIAL_MODELS", home_dir() / "models")


def recordings_dir() -> Path:
    """Writable folder of episode recordings, one sub-folder per agent name."""
    return _location("RLTUTORIAL_RECORDINGS", home_dir() / "recordings")


def runs_dir() -> Path:
    """Folder of training logs (TensorBoard, monitor files); not shipped."""
    return _location("RLTUTORIAL_RUNS", home_dir() / "runs")


def studies_dir() -> Path:
    """Folder of training studies (``studies/<name>/``: agents, logs, ``study.csv``)."""
    return _location("RLTUTORIAL_STUDIES", home_dir() / "studies")


def data_dir() -> Path:
    """Folder of small cached data tables shipped with the package."""
    return _location("RLTUTORIAL_DATA", PACKAGE_DIR / "data")


def _search_path(writable: Path, shipped: Path) -> list[Path]:
    return [writable] if writable == shipped else [writable, shipped]


def zoo_dirs() -> list[Path]:
    """Folders searched for agents, in order: the writable one, then the shipped zoo.

    With ``RLTUTORIAL_MODELS`` set, only that folder is searched.
    """
    if os.environ.get("RLTUTORIAL_MODELS"):
        return [models_dir()]
    return _search_path(models_dir(), _SHIPPED_DIR / "models")


def recording_dirs() -> list[Path]:
    """Folders searched for recordings, in order: the writable one, then the shipped."""
    if os.environ.get("RLTUTORIAL_RECORDINGS"):
        return [recordings_dir()]
    return _search_path(recordings_dir(), _SHIPPED_DIR / "recordings")
