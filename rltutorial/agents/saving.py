"""Writing agent folders: staged, with a manifest, swapped in under a lock.

:func:`write_agent_folder` writes a whole agent, :func:`rewrite_agent_folder` replaces
some of its files (:func:`write_metrics` its metrics), both through a staging folder
that is swapped in (:mod:`rltutorial.agents.swap`) with a new manifest
(:mod:`rltutorial.agents.manifest`). :func:`export_sb3_zip` writes a standard
Stable-Baselines3 zip. The folder format is described in :mod:`rltutorial.agents.storage`.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rltutorial.agents import swap
from rltutorial.agents.manifest import verify_manifest, write_manifest
from rltutorial.agents.storage import (
    AGENT_FILES,
    CONFIG_FILE,
    METRICS_FILE,
    MONITOR_FILE,
    NORMALIZATION_FILE,
    WEIGHTS_FILE,
)
from rltutorial.config import save_config
from rltutorial.normalization import NormalizationStats
from rltutorial.safe_yaml import to_plain

__all__ = [
    "MonitorLogWarning",
    "write_agent_folder",
    "write_metrics",
    "rewrite_agent_folder",
    "compact_monitor",
    "export_sb3_zip",
]


class MonitorLogWarning(UserWarning):
    """The training's monitor log could not be read; the agent was saved without it."""


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
    text = json.dumps(_plain_json(data), indent=2, ensure_ascii=False)
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def write_metrics(folder: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Replace ``metrics.json`` of an agent folder (staged and swapped, see
    :func:`rewrite_agent_folder`) and return its path."""
    text = json.dumps(_plain_json(metrics), indent=2, ensure_ascii=False)
    rewrite_agent_folder(folder, {METRICS_FILE: text.encode("utf-8")})
    return Path(folder) / METRICS_FILE


def write_agent_folder(
    folder: str | Path,
    config: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    normalization: NormalizationStats | None,
    metrics: Mapping[str, Any],
    monitor_csv: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an agent folder with its manifest, atomically, and return its path.

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
        Monitor file to copy in (compacted, see :func:`compact_monitor`). If it cannot
        be read the agent is saved without it, with a :class:`MonitorLogWarning` and
        the reason under ``monitor_error`` in ``metrics.json``.
    overwrite : bool
        Replace an existing folder.

    Raises
    ------
    FileExistsError
        If ``folder`` exists and ``overwrite`` is False, or another process kept
        saving it for longer than :data:`rltutorial.agents.swap.SAVE_LOCK_TIMEOUT_S`.
    """
    import torch

    folder = Path(folder)
    with swap.folder_lock(folder):
        swap.recover_locked(folder)
        if folder.exists() and not overwrite:
            raise FileExistsError(
                f"{folder} already exists; choose another run_name or pass "
                "overwrite=True."
            )
        with swap.staging(folder) as staging:
            save_config(config, staging / CONFIG_FILE)
            tensors = {
                key: value.detach().cpu().clone() for key, value in state_dict.items()
            }
            torch.save(tensors, staging / WEIGHTS_FILE)
            if normalization is not None:
                normalization.save(staging / NORMALIZATION_FILE)
            notes = _copy_monitor(monitor_csv, staging / MONITOR_FILE)
            _write_json({**metrics, **notes}, staging / METRICS_FILE)
            write_manifest(staging)
            swap.swap_in(staging, folder)
    return folder


def _copy_monitor(source: str | Path | None, target: Path) -> dict[str, str]:
    """Compact the monitor log into ``target``; on failure warn and return a note."""
    if source is None or not Path(source).is_file():
        return {}
    try:
        compact_monitor(source, target)
    except Exception as error:  # a log problem must never cost the trained policy
        target.unlink(missing_ok=True)
        note = f"{source} could not be read ({type(error).__name__}: {error})"
        warnings.warn(
            f"The agent is saved without its training log: {note}.",
            MonitorLogWarning,
            stacklevel=3,
        )
        return {"monitor_error": note}
    return {}


def rewrite_agent_folder(
    folder: str | Path, replace: Mapping[str, bytes] | None = None
) -> Path:
    """Copy an agent folder with some files replaced, record a new manifest, swap it in.

    The copies are checked against the folder's manifest (if it has one) before the new
    manifest records them, so a damaged file is never certified. Without ``replace``
    this re-saves a folder as it is, adding a manifest to one saved before manifests
    existed (check it first, e.g. by loading it: ``scripts/resave_zoo.py`` does).

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    ValueError
        If a file does not match the folder's manifest (naming it), or a name in
        ``replace`` is not a plain file name.
    """
    folder, replace = Path(folder), dict(replace or {})
    for name in replace:
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"{name!r} is not the name of a file in an agent folder.")
    with swap.folder_lock(folder):
        swap.recover_locked(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"No agent folder at {folder}.")
        with swap.staging(folder) as staging:
            for path in folder.iterdir():
                if path.name.startswith("."):
                    continue
                if path.is_dir():
                    shutil.copytree(path, staging / path.name, symlinks=True)
                else:
                    shutil.copy2(path, staging / path.name)
            verify_manifest(staging, known=AGENT_FILES)
            for name, data in replace.items():
                (staging / name).write_bytes(data)
            write_manifest(staging)
            swap.swap_in(staging, folder)
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
