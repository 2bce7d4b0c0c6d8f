"""Environments from configs: the one place that reads a config to build environments.

- :func:`make_env`: the environment one agent sees (wrappers in a fixed order).
- :func:`make_vec_env`: N of them as a Stable-Baselines3 ``VecEnv`` with episode
  statistics, batched (one Cheetah call per step for all) or one by one.
- :func:`make_batched_env`: the batched ``VecEnv`` alone (evaluation uses it).
- :func:`env_kwargs`: the task's keyword arguments in a config.
- :func:`base_env`: the bare environment of a config on a backend (:data:`BACKENDS`:
  ``"cheetah"``, the simulation; ``"epics"``, a machine over EPICS; or a
  :class:`~rltutorial.envs.Backend` object).

The environment classes themselves (:mod:`rltutorial.envs`) know nothing of configs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import (
    FilterObservation,
    FlattenObservation,
    FrameStackObservation,
    RescaleAction,
    TimeLimit,
)

from rltutorial.config import validate_config
from rltutorial.envs.actions import get_action_mode
from rltutorial.envs.ares_ea import AresEA, AresEACheetah, task_defaults
from rltutorial.envs.backend import Backend
from rltutorial.observability import (
    PartialObservation,
    observes_partially,
    vec_partial_observation,
)
from rltutorial.registry import lookup
from rltutorial.wrappers import CheckAction, FilterAction, RecordEpisodes

__all__ = [
    "BACKENDS",
    "base_env",
    "make_env",
    "make_vec_env",
    "make_batched_env",
    "env_kwargs",
]

#: Info entries that Monitor/VecMonitor record for each finished episode.
MONITOR_KEYWORDS = ("is_success", "mae_focus", "mae_all")
#: Config keys of the task itself, passed to :class:`~rltutorial.envs.AresEACheetah`.
TASK_KEYS = tuple(task_defaults())
#: Task keys that describe the simulated machine (incoming beam, misalignments), not
#: the task: a backend takes them, :class:`~rltutorial.envs.AresEA` does not.
MACHINE_KEYS = tuple(
    key for key in TASK_KEYS if key not in inspect.signature(AresEA.__init__).parameters
)


def env_kwargs(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keyword arguments of :class:`~rltutorial.envs.AresEACheetah` in a config."""
    config = validate_config(config)
    return {key: config[key] for key in TASK_KEYS}


def _cheetah(kwargs: dict[str, Any], render_mode: str | None, **options: Any) -> AresEA:
    if options:
        raise ValueError(
            f"The cheetah backend takes no options, got {sorted(options)}; they are "
            "for backend='epics' (e.g. address='127.0.0.1:5064')."
        )
    return AresEACheetah(render_mode=render_mode, **kwargs)


def _epics(kwargs: dict[str, Any], render_mode: str | None, **options: Any) -> AresEA:
    from rltutorial.machine import EpicsBackend

    machine = {key: kwargs.pop(key) for key in MACHINE_KEYS}
    if machine.pop("calibration_error", 0.0):
        raise ValueError(
            "calibration_error simulates quadrupole errors; a machine over EPICS has "
            "its own: set calibration_error to 0 for backend='epics'."
        )
    backend = EpicsBackend(**{**machine, **options})
    return AresEA(backend=backend, render_mode=render_mode, **kwargs)


#: Backends by name: (task keyword arguments, render_mode, **options) -> environment.
#: ``"epics"`` options are those of :class:`~rltutorial.machine.EpicsBackend`.
BACKENDS: dict[str, Callable[..., AresEA]] = {"cheetah": _cheetah, "epics": _epics}


def base_env(
    config: Mapping[str, Any] | None = None,
    backend: str | Backend = "cheetah",
    render_mode: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    **backend_options: Any,
) -> AresEA:
    """The bare environment of a config (no wrappers) on a backend.

    Parameters
    ----------
    config : dict, optional
        Validated with :func:`~rltutorial.config.validate_config`.
    backend : str or Backend
        ``"cheetah"`` (simulation), ``"epics"`` (a machine over Channel Access: pass
        ``address="host:port"`` and other :class:`~rltutorial.machine.EpicsBackend`
        options), or a :class:`~rltutorial.envs.Backend` object (its own incoming beam
        and misalignment settings apply; the config's are ignored).
    render_mode : {"rgb_array", None}
        Rendering of the environment.
    overrides : dict, optional
        Task keyword arguments that replace the config's (e.g. ``action_mode``).
    **backend_options
        Options of a backend given by name.

    Returns
    -------
    AresEA
    """
    kwargs = {**env_kwargs(config), **dict(overrides or {})}
    if isinstance(backend, Backend):
        if backend_options:
            raise ValueError(
                f"Options {sorted(backend_options)} are for a backend given by name; "
                "this backend object is already built."
            )
        task = {key: value for key, value in kwargs.items() if key not in MACHINE_KEYS}
        return AresEA(backend=backend, render_mode=render_mode, **task)
    build = lookup(BACKENDS, backend, "backend")
    return build(kwargs, render_mode, **backend_options)


def make_env(
    config: Mapping[str, Any] | None = None,
    record_video: bool | str | Path = False,
    monitor_filename: str | Path | None = None,
    render_mode: str | None = None,
    backend: str | Backend = "cheetah",
    **backend_options: Any,
) -> gym.Env:
    """Build the ARES-EA environment an agent sees, from a config.

    Order: AresEACheetah → TimeLimit → FilterObservation → (PartialObservation) →
    FlattenObservation → (FrameStackObservation → Flatten) → FilterAction →
    RescaleAction → CheckAction → (RecordEpisodes) → (Monitor). The screen's
    imperfections thus act on each reading once, before flattening and stacking;
    CheckAction refuses an action of the wrong shape or with NaN/inf by name. Observation/reward
    normalisation happens in the vectorised environment during training
    (``VecNormalize``) or with :class:`NotVecNormalize` afterwards.

    Parameters
    ----------
    config : dict, optional
        Validated with :func:`~rltutorial.config.validate_config`; defaults to the
        workshop's focusing task.
    record_video : bool or path
        Record every episode as a GIF: ``True`` writes to the current recordings run
        folder ``recordings/videos``; a path writes there.
    monitor_filename : str or Path, optional
        Log episode statistics with Stable-Baselines3's ``Monitor`` to this CSV.
    render_mode : {"rgb_array", None}
        Rendering of the base environment (``record_video`` implies ``"rgb_array"``).
    backend : str or Backend
        The machine: ``"cheetah"`` (default, the simulation), ``"epics"`` (a machine
        over EPICS, e.g. ``make_env(config, backend="epics", address="127.0.0.1:5064")``)
        or a :class:`~rltutorial.envs.Backend` object (see :func:`base_env`).
    **backend_options
        Options of a backend given by name.

    Returns
    -------
    gym.Env
    """
    config = validate_config(config)
    render_mode = "rgb_array" if record_video else render_mode
    env: gym.Env = base_env(config, backend, render_mode, **backend_options)
    if config["time_limit"] is not None:
        env = TimeLimit(env, max_episode_steps=config["time_limit"])
    env = FilterObservation(env, list(config["filter_observation"]))
    if observes_partially(config):
        env = PartialObservation(env, config["partial_observability"])
    env = FlattenObservation(env)
    if config["frame_stack"] is not None:
        env = FlattenObservation(FrameStackObservation(env, config["frame_stack"]))
    mode = get_action_mode(config["action_mode"])
    env = FilterAction(env, mode.action_indices(config["filter_action"]))
    if config["rescale_action"] is not None:
        low, high = config["rescale_action"]
        env = RescaleAction(env, np.float32(low), np.float32(high))
    env = CheckAction(env, env.get_wrapper_attr("what"))
    if record_video:
        from rltutorial.paths import recordings_dir

        folder = (
            recordings_dir() / "videos" if record_video is True else Path(record_video)
        )
        env = RecordEpisodes(env, folder)
    if monitor_filename is not None:
        from stable_baselines3.common.monitor import Monitor

        env = Monitor(
            env,
            str(monitor_filename),
            info_keywords=MONITOR_KEYWORDS,
        )
    return env


def make_vec_env(
    config: Mapping[str, Any] | None = None,
    n_envs: int = 1,
    batched: bool = True,
    seed: int | None = None,
    monitor_filename: str | None = None,
):
    """N copies of the environment of ``config``, with episode statistics (``VecMonitor``).

    Parameters
    ----------
    config : dict, optional
        Config as for :func:`rltutorial.make_env`.
    n_envs : int
        Number of environments.
    batched : bool
        ``True``: one :class:`~rltutorial.envs.batched.BatchedAresEA` simulating all
        environments per Cheetah call (fast). ``False``:
        a ``DummyVecEnv`` of :func:`rltutorial.make_env` copies (one simulation each).
        Both behave identically, partial observability included.
    seed : int, optional
        Environment i is seeded with ``seed + i`` at the first reset.
    monitor_filename : str, optional
        CSV file for the episode statistics (``VecMonitor``).

    Returns
    -------
    stable_baselines3.common.vec_env.VecEnv
        Flat, un-normalised observations; wrap with ``VecNormalize`` for training.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    config = validate_config(config)
    if batched:
        venv = make_batched_env(config, n_envs, seed=seed)
    else:
        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}.")
        venv = DummyVecEnv([lambda: make_env(config) for _ in range(n_envs)])
        if seed is not None:
            venv.seed(seed)
    return VecMonitor(venv, filename=monitor_filename, info_keywords=MONITOR_KEYWORDS)


def make_batched_env(
    config: Mapping[str, Any] | None, n_envs: int, seed: int | None = None
):
    """A :class:`~rltutorial.envs.batched.BatchedAresEA` seeing what the config's agent sees.

    The batched environment simulates the fully observed task; with
    ``partial_observability`` set, :func:`~rltutorial.observability.vec_partial_observation`
    turns its frames into the readings :func:`make_env` reports (the same values for
    the same seeds). Attributes such as ``beams`` (true beams in m) reach the batched
    environment.
    """
    from rltutorial.envs.batched import BatchedAresEA

    config = validate_config(config)
    venv = BatchedAresEA(
        n_envs,
        seed,
        filter_observation=config["filter_observation"],
        filter_action=config["filter_action"],
        rescale_action=config["rescale_action"],
        frame_stack=config["frame_stack"],
        time_limit=config["time_limit"],
        **env_kwargs(config),
    )
    if not observes_partially(config):
        return venv
    task_space = venv.task.observation_space
    frame_space = spaces.Dict(
        {key: task_space[key] for key in config["filter_observation"]}
    )
    venv = vec_partial_observation(
        venv,
        config["partial_observability"],
        frame_space,
        stack=config["frame_stack"] or 1,
    )
    if seed is not None:
        venv.seed(seed)
    return venv
