"""Training studies: one :func:`rltutorial.train` run per sweep point.

:func:`train_point` is the ``"training"`` sweep backend. Each point holds config
overrides (``reward_mode``, ``seed``, ``learning_rate``, …) that are laid over a base
config given once in ``simulate_kwargs``; the point trains one agent, saves it and
returns a flat dict of results, so that :func:`~rltutorial.sweep.run_sweep` turns a
study into one table: parameters, evaluation metrics, training facts and the saved
agent's folder, with failed runs (an invalid config, a crash) as rows of status
``failed`` that carry the error.

Where the agents go
-------------------
``folder=DIR`` keeps a study together: agents in ``DIR/models/<run name>/``, training
logs in ``DIR/runs/<run name>/`` and GIFs in ``DIR/recordings/<run name>/``. Without it,
the usual :mod:`rltutorial.paths` locations of the machine that trains are used. Load a
study's agent with ``Agent.from_folder(row.agent_folder)``. On a remote cluster
``folder`` must be a path that every worker can write to (a shared volume), and
``agent_folder`` is that path as the workers see it.

The folder reaches :func:`rltutorial.train` as its ``root`` argument: nothing
process-wide changes, so trainings in one process never see each other's folders. Give
Dask workers one thread each (``make_client(threads_per_worker=1)``, the default), which
suits the single-threaded torch that training uses.

Run names
---------
A point without ``run_name`` is named ``study-<study>-<hash>``, where ``<hash>`` is the
first 10 hex digits of the SHA-256 of the complete, validated config (without
``run_name``). The name depends on nothing else, so rerunning a study with
``if_exists="reuse"`` trains only the points that have no agent yet (for example those
that failed) and reads the others' results from their ``metrics.json``.

Examples
--------
Three reward modes × two action modes × three seeds, 18 trainings on a local cluster:

>>> from rltutorial.sweep import grid, make_client, run_sweep
>>> points = grid(
...     reward_mode=["objective_improvement", "log_improvement", "negative_objective"],
...     action_mode=["delta", "direct"],
...     seed=[0, 1, 2],
... )
>>> base = {"total_timesteps": 50_000, "n_envs": 8}
>>> with make_client(n_workers=2) as client:  # doctest: +SKIP
...     study = run_sweep(
...         "training",
...         points,
...         client,
...         simulate_kwargs={"base_config": base, "folder": "studies/rewards",
...                          "study": "rewards", "evaluation_episodes": 50},
...     )
>>> study.groupby(["reward_mode", "action_mode"])["median_mae"].mean()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from rltutorial.registry import unknown_name_error

__all__ = [
    "IF_EXISTS",
    "prepare_training",
    "study_config",
    "train_point",
]

#: What :func:`train_point` does when the agent of a point already exists.
IF_EXISTS: tuple[str, ...] = ("fail", "overwrite", "reuse")
#: Keyword arguments of :func:`train_point` that are not config keys.
TRAINING_OPTIONS: tuple[str, ...] = (
    "base_config",
    "evaluation_episodes",
    "folder",
    "if_exists",
    "recorded_episodes",
    "study",
)
#: Evaluation settings stored next to the metrics in ``metrics.json``; not results.
_EVALUATION_SETTINGS = frozenset(
    {"n", "seed", "include_position", "sigma_threshold", "position_threshold"}
)
_TRAINING_RESULTS = {
    "timesteps": "timesteps",
    "wall_time_s": "train_time_s",
    "kept_timesteps": "kept_timesteps",
    "kept_score": "kept_score",
    "interrupted": "interrupted",
}
_HASH_DIGITS = 10


def train_point(
    base_config: Mapping[str, Any] | str | os.PathLike | None = None,
    *,
    folder: str | os.PathLike | None = None,
    study: str | None = None,
    evaluation_episodes: int = 50,
    recorded_episodes: int = 0,
    if_exists: Literal["fail", "overwrite", "reuse"] = "fail",
    **overrides: Any,
) -> dict[str, Any]:
    """Train, save and evaluate one agent of a study; return its results.

    Parameters
    ----------
    base_config : Mapping, str, PathLike or None
        Config shared by the study, or a YAML file of one; None means the defaults
        (:data:`rltutorial.DEFAULT_CONFIG`). Must not set ``run_name``.
    folder : str, PathLike or None
        Study folder holding ``models/``, ``runs/`` and ``recordings/``; None uses the
        :mod:`rltutorial.paths` locations. ``run_sweep("training", ...)`` makes a
        relative path absolute on the client; called directly, it is relative to the
        current directory.
    study : str or None
        Study name, part of generated run names.
    evaluation_episodes : int
        Seeded episodes (seeds 0, 1, …) evaluated after training; 0 skips evaluation.
    recorded_episodes : int
        Episodes recorded as GIFs in ``recordings/<run name>/``.
    if_exists : {"fail", "overwrite", "reuse"}
        If the agent exists: fail, train it again, or return its stored results
        (only if it was trained with the same config).
    **overrides : Any
        Config keys of this point (how :func:`~rltutorial.sweep.run_sweep` passes it),
        laid over ``base_config``.

    Returns
    -------
    dict[str, Any]
        ``agent`` (run name), ``agent_folder``, ``reused``, ``timesteps``,
        ``train_time_s`` (training wall time in s, without evaluation and saving),
        ``kept_timesteps`` and ``kept_score`` (the policy kept), ``interrupted``, the
        evaluation metrics of :func:`rltutorial.evaluation.metrics.summarize` (``median_mae``,
        ``success_rate``, ``near_optimal_rate``, ``median_optimality_ratio``,
        ``mean_steps``, …) and ``behaviour``.

    Raises
    ------
    ValueError
        For an invalid config (naming the key and the valid choices) or option.
    FileExistsError
        If the agent exists and ``if_exists`` is ``"fail"``, or it was trained with
        another config and ``if_exists`` is ``"reuse"``.
    """
    from rltutorial.agents.training import OutputFolders, train
    from rltutorial.threads import torch_threads

    _check_options(evaluation_episodes, recorded_episodes, if_exists)
    config = study_config(base_config, overrides, study)
    root = None if folder is None else Path(folder).expanduser().resolve()
    agent_folder = OutputFolders.under(root).models / config["run_name"]
    if if_exists == "reuse" and agent_folder.exists():
        return _stored_results(agent_folder, config)
    with torch_threads(1):
        agent = train(
            config,
            overwrite=if_exists == "overwrite",
            evaluation_episodes=evaluation_episodes,
            recorded_episodes=recorded_episodes,
            progress_bar=False,
            root=root,
        )
    return _results(agent.name, agent.folder, agent.metrics, reused=False)


def study_config(
    base_config: Mapping[str, Any] | str | os.PathLike | None,
    overrides: Mapping[str, Any],
    study: str | None = None,
) -> dict[str, Any]:
    """The validated config of one point, named ``study-<study>-<hash>`` if unnamed.

    Parameters
    ----------
    base_config : Mapping, str, PathLike or None
        Config shared by the study (or a YAML file of one); must not set ``run_name``.
    overrides : Mapping
        Config keys of the point; a ``run_name`` here is kept.
    study : str or None
        Study name in generated run names.

    Returns
    -------
    dict[str, Any]
        A complete, validated config; the arguments are not modified.

    Raises
    ------
    ValueError
        For an invalid config, a ``run_name`` in ``base_config`` or a study name that
        cannot be part of a folder name.
    """
    from rltutorial.agents.storage import check_agent_name
    from rltutorial.config import validate_config
    from rltutorial.safe_yaml import to_plain

    if study is not None and not isinstance(study, str):
        raise ValueError(f"study must be a name (str) or None, got {study!r}")
    base = _load_base(base_config)
    config = validate_config({**base, **overrides})
    if config["run_name"] is None:
        plain = to_plain({k: v for k, v in config.items() if k != "run_name"})
        text = json.dumps(plain, sort_keys=True, allow_nan=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH_DIGITS]
        prefix = "study" if study is None else f"study-{study}"
        config["run_name"] = check_agent_name(f"{prefix}-{digest}")
    return config


def _load_base(
    base_config: Mapping[str, Any] | str | os.PathLike | None,
) -> dict[str, Any]:
    """The base config as a dict (read from YAML if a path), without ``run_name``."""
    from rltutorial.config import load_config

    if base_config is None:
        return {}
    if isinstance(base_config, (str, os.PathLike)):
        base = load_config(base_config)
    elif isinstance(base_config, Mapping):
        base = dict(base_config)
    else:
        raise ValueError(
            f"base_config must be a dict, a YAML file or None, got "
            f"{type(base_config).__name__}"
        )
    if base.get("run_name") is not None:
        raise ValueError(
            f"base_config sets run_name={base['run_name']!r}, which would name every "
            "agent of the study alike; remove it (runs are named from their config) "
            "or give run_name in the points"
        )
    return base


def _check_options(
    evaluation_episodes: int, recorded_episodes: int, if_exists: str
) -> None:
    """Raise ValueError for an invalid option of :func:`train_point`."""
    for name, value in (
        ("evaluation_episodes", evaluation_episodes),
        ("recorded_episodes", recorded_episodes),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if if_exists not in IF_EXISTS:
        raise unknown_name_error(if_exists, IF_EXISTS, "if_exists")


def _stored_results(agent_folder: Path, config: Mapping[str, Any]) -> dict[str, Any]:
    """Results of an agent trained before, if it was trained with ``config``."""
    from rltutorial.agents import storage as agent_io
    from rltutorial.safe_yaml import to_plain

    if not agent_io.is_agent_folder(agent_folder):
        raise FileExistsError(
            f"{agent_folder} exists but is not an agent folder; remove it or pass "
            "if_exists='overwrite'"
        )
    stored = agent_io.read_config(agent_folder)
    if to_plain(stored) != to_plain(config):
        changed = sorted(k for k in config if stored.get(k) != config[k])
        raise FileExistsError(
            f"agent {agent_folder.name!r} in {agent_folder.parent} was trained with "
            f"another config (differs in {changed}); pass if_exists='overwrite' or "
            "another run_name"
        )
    metrics = agent_io.read_metrics(agent_folder)
    return _results(agent_folder.name, agent_folder, metrics, reused=True)


def _results(
    name: str, folder: Path | None, metrics: Mapping[str, Any], reused: bool
) -> dict[str, Any]:
    """Flat results of an agent from its ``metrics.json`` contents."""
    training = metrics.get("training", {})
    evaluation = metrics.get("evaluation", {})
    results: dict[str, Any] = {
        "agent": name,
        "agent_folder": str(folder) if folder is not None else "",
        "reused": reused,
    }
    for key, column in _TRAINING_RESULTS.items():
        results[column] = _finite(training.get(key))
    for key, value in evaluation.items():
        if key not in _EVALUATION_SETTINGS:
            results[key] = _finite(value)
    if "behaviour" in metrics:
        results["behaviour"] = metrics["behaviour"]
    return results


def _finite(value: Any) -> Any:
    """NaN for a missing or non-finite number (as ``metrics.json`` stores them)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return math.nan
    return value


def prepare_training(kwargs: dict) -> dict:
    """Check a study's shared arguments once on the client, before any training.

    Reads a ``base_config`` YAML file into a dict (so it travels to the workers),
    makes ``folder`` absolute, and validates the options and the base config merged
    with any config keys among ``kwargs``.

    Raises
    ------
    ValueError
        For a name that is neither an option of :func:`train_point` nor a config key
        (listing both), an invalid option or an invalid base config.
    """
    from rltutorial.config import CONFIG_SCHEMA

    unknown = sorted(set(kwargs) - set(TRAINING_OPTIONS) - set(CONFIG_SCHEMA))
    if unknown:
        raise ValueError(
            f"unknown training-study argument(s) {unknown}; valid are the options "
            f"{sorted(TRAINING_OPTIONS)} and the config keys "
            f"{sorted(CONFIG_SCHEMA)}"
        )
    if kwargs.get("run_name") is not None:
        raise ValueError(
            f"run_name={kwargs['run_name']!r} in simulate_kwargs would name every "
            "agent of the study alike; give run_name in the points or leave it out"
        )
    kwargs = dict(kwargs)
    defaults = inspect.signature(train_point).parameters
    _check_options(
        *(
            kwargs.get(name, defaults[name].default)
            for name in ("evaluation_episodes", "recorded_episodes", "if_exists")
        )
    )
    kwargs["base_config"] = _load_base(kwargs.get("base_config"))
    if kwargs.get("folder") is not None:
        kwargs["folder"] = str(Path(kwargs["folder"]).expanduser().resolve())
    shared = {key: kwargs[key] for key in kwargs if key in CONFIG_SCHEMA}
    study_config(kwargs["base_config"], shared, kwargs.get("study"))
    return kwargs
