"""The folder format of a trained agent: plain files, no pickle.

```
models/<Agent Name>/
  config.yaml          the full config (safe YAML, plain types)
  policy.pt            policy weights: a torch state dict (tensors only)
  normalization.json   observation-normalisation statistics (when normalised)
  metrics.json         evaluation summary, training time, behaviour notes
  monitor.csv          training episodes, in at most 1000 blocks of consecutive episodes
```

Weights are read with ``torch.load(..., weights_only=True)``, which accepts tensors and
plain containers only and never runs arbitrary code. Folders are written atomically: into
a hidden temporary folder first, which is then renamed, so an interrupted save never
leaves a half-written agent behind.
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rltutorial.config import load_config, save_config
from rltutorial.normalization import NormalizationStats
from rltutorial.safe_yaml import to_plain

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "NORMALIZATION_FILE",
    "MONITOR_FILE",
    "check_agent_name",
    "is_agent_folder",
    "write_agent_folder",
    "write_metrics",
    "compact_monitor",
    "read_config",
    "read_weights",
    "read_normalization",
    "read_metrics",
    "export_sb3_zip",
]

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "policy.pt"
NORMALIZATION_FILE = "normalization.json"
METRICS_FILE = "metrics.json"
MONITOR_FILE = "monitor.csv"
_FORBIDDEN = set('/\\:*?"<>|')


def check_agent_name(name: str) -> str:
    """Return ``name`` if it can name an agent folder, else raise ValueError."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or name != name.strip()
        or name.startswith(".")
        or _FORBIDDEN & set(name)
    ):
        raise ValueError(
            f"Agent name {name!r} cannot name a folder: use letters, digits, spaces, "
            "'-' or '_' (no leading dot or surrounding spaces)."
        )
    return name


def is_agent_folder(path: Path) -> bool:
    """Whether ``path`` holds a saved agent (a config and weights, not hidden)."""
    return (
        path.is_dir()
        and not path.name.startswith(".")
        and (path / CONFIG_FILE).is_file()
        and (path / WEIGHTS_FILE).is_file()
    )


def _plain_json(value: Any) -> Any:
    """JSON-safe plain values (NaN/inf become None)."""
    value = to_plain(value)
    if isinstance(value, dict):
        return {key: _plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_json(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_json(data: Mapping[str, Any], path: Path) -> Path:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(_plain_json(data), indent=2, ensure_ascii=False))
    partial.replace(path)
    return path


def write_metrics(folder: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Replace ``metrics.json`` in an agent folder (atomically)."""
    return _write_json(metrics, Path(folder) / METRICS_FILE)


def write_agent_folder(
    folder: str | Path,
    config: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    normalization: NormalizationStats | None,
    metrics: Mapping[str, Any],
    monitor_csv: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an agent folder atomically and return its path.

    Parameters
    ----------
    folder : str or Path
        Target folder, e.g. ``models_dir() / name``.
    config : dict
        The agent's config (validated and written as safe YAML).
    state_dict : dict of str to Tensor
        Policy weights.
    normalization : NormalizationStats, optional
        Observation statistics; None when observations are not normalised.
    metrics : dict
        Plain values for ``metrics.json``.
    monitor_csv : str or Path, optional
        Monitor file to copy in.
    overwrite : bool
        Replace an existing folder.

    Raises
    ------
    FileExistsError
        If ``folder`` exists and ``overwrite`` is False.
    """
    import torch

    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise FileExistsError(
            f"{folder} already exists; choose another run_name or pass overwrite=True."
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.partial")
    staging.mkdir()
    try:
        save_config(config, staging / CONFIG_FILE)
        tensors = {
            key: value.detach().cpu().clone() for key, value in state_dict.items()
        }
        torch.save(tensors, staging / WEIGHTS_FILE)
        if normalization is not None:
            normalization.save(staging / NORMALIZATION_FILE)
        write_metrics(staging, metrics)
        if monitor_csv is not None and Path(monitor_csv).is_file():
            compact_monitor(monitor_csv, staging / MONITOR_FILE)
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def compact_monitor(
    source: str | Path, target: str | Path, max_rows: int = 1000
) -> Path:
    """Write a monitor CSV with consecutive episodes averaged in blocks (small to ship).

    Each row is a block of ``episodes`` consecutive episodes: mean reward ``r``, mean
    length ``l`` (steps), wall time ``t`` (s) at the block's end, and the means of the
    other numeric columns. The full log stays in ``runs/<name>/monitor.csv``.
    """
    import pandas as pd

    source, target = Path(source), Path(target)
    lines = source.read_text().splitlines(keepends=True)
    header = lines[0] if lines and lines[0].startswith("#") else ""
    episodes = pd.read_csv(source, comment="#")
    size = max(1, -(-len(episodes) // max_rows))  # ceiling division
    blocks = episodes.apply(pd.to_numeric, errors="coerce").groupby(
        episodes.index // size
    )
    compact = blocks.mean()
    compact["t"] = blocks["t"].max()
    compact["episodes"] = blocks.size()
    with target.open("w") as handle:
        handle.write(header)
        compact.to_csv(handle, index=False, float_format="%.6g")
    return target


def _swap_in(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``, replacing an existing one."""
    if not folder.exists():
        staging.rename(folder)
        return
    retired = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.old")
    folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)


def read_config(folder: Path) -> dict[str, Any]:
    """The agent's validated config (safe YAML)."""
    path = folder / CONFIG_FILE
    try:
        return load_config(path)
    except ValueError as error:
        raise ValueError(f"Invalid agent config {path}: {error}") from None


def read_weights(folder: Path) -> dict[str, Any]:
    """The policy state dict, loaded without unpickling arbitrary objects.

    Raises
    ------
    ValueError
        Naming the file, if it is missing, damaged or not a dict of tensors.
    """
    import torch

    path = folder / WEIGHTS_FILE
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any failure here means the file cannot be used
        raise ValueError(
            f"Cannot load the policy weights {path}: the file is damaged or not a torch "
            f"state dict ({type(error).__name__}: {error}). Restore it (e.g. "
            "`git checkout -- models/`) or train the agent again."
        ) from error
    if not isinstance(state, dict) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        raise ValueError(f"{path} does not hold a state dict of tensors.")
    return state


def read_normalization(folder: Path) -> NormalizationStats | None:
    """Observation statistics, or None if the agent does not normalise observations."""
    path = folder / NORMALIZATION_FILE
    return NormalizationStats.load(path) if path.is_file() else None


def read_metrics(folder: Path) -> dict[str, Any]:
    """The agent's ``metrics.json`` (empty if absent)."""
    path = folder / METRICS_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"Cannot read {path}: {error}") from None


def export_sb3_zip(
    config: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    normalization: NormalizationStats | None,
    path: str | Path,
) -> Path:
    """Write a standard Stable-Baselines3 zip of a policy (``PPO.load(path)`` elsewhere).

    The observation statistics go next to it as ``<name>.normalization.json``; apply
    them with :class:`~rltutorial.normalization.NotVecNormalize`.
    """
    import warnings

    from stable_baselines3.common.vec_env import DummyVecEnv

    from rltutorial.algorithms import get_algorithm
    from rltutorial.make import make_env

    path = Path(path).with_suffix(".zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    venv = DummyVecEnv([lambda: make_env(config)])
    with warnings.catch_warnings():  # batch-size advice concerns training only
        warnings.simplefilter("ignore", UserWarning)
        model = get_algorithm(config["algorithm"]).build(config, venv)
    model.policy.load_state_dict(state_dict)
    model.save(path)
    if normalization is not None:
        normalization.save(path.with_suffix(".normalization.json"))
    return path
