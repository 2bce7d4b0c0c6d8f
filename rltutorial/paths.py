"""Where the project keeps trained agents, recordings, training runs and cached data.

All locations are package-relative (the repository root is the parent of the package),
never the current working directory, so notebooks and scripts find the agents from
anywhere. Each can be moved with an environment variable.

| location | default | environment variable |
|---|---|---|
| models | ``<repo>/models`` | ``RLTUTORIAL_MODELS`` |
| recordings | ``<repo>/recordings`` | ``RLTUTORIAL_RECORDINGS`` |
| runs (TensorBoard, monitor logs) | ``<repo>/runs`` | ``RLTUTORIAL_RUNS`` |
| data (cached tables) | ``<package>/data`` | ``RLTUTORIAL_DATA`` |
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "REPO_DIR",
    "models_dir",
    "recordings_dir",
    "runs_dir",
    "data_dir",
    "studies_dir",
]

#: Folder of the installed ``rltutorial`` package.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Root of the repository (holds ``models/``, ``recordings/`` and ``notebooks/``).
REPO_DIR = PACKAGE_DIR.parent


def _location(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def models_dir() -> Path:
    """Folder of trained agents, one sub-folder per agent name."""
    return _location("RLTUTORIAL_MODELS", REPO_DIR / "models")


def recordings_dir() -> Path:
    """Folder of episode recordings, one sub-folder per agent name."""
    return _location("RLTUTORIAL_RECORDINGS", REPO_DIR / "recordings")


def runs_dir() -> Path:
    """Folder of training logs (TensorBoard, monitor files); not shipped."""
    return _location("RLTUTORIAL_RUNS", REPO_DIR / "runs")


def data_dir() -> Path:
    """Folder of small cached data tables shipped with the package."""
    return _location("RLTUTORIAL_DATA", PACKAGE_DIR / "data")


def studies_dir() -> Path:
    """Folder of training studies (``studies/<name>/``: agents, logs, ``study.csv``)."""
    return _location("RLTUTORIAL_STUDIES", REPO_DIR / "studies")
