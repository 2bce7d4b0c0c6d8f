"""Vectorised ARES-EA environments for training and evaluation.

- :func:`make_vec_env`: N environments of a config with episode statistics.
- :func:`make_batched_env`: the batched simulation, seeing what the config's agent sees.
- :class:`VecPartialObservation`: partial observability of
  :mod:`rltutorial.observability` for a ``VecEnv`` of flat, stacked frames.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from rltutorial.config import validate_config
from rltutorial.observability import (
    BeamReader,
    ObservationSettings,
    as_settings,
    observed_space,
)

__all__ = [
    "make_vec_env",
    "make_batched_env",
    "MONITOR_KEYWORDS",
    "VecPartialObservation",  # noqa: F822 (built on first use, see __getattr__)
]

#: Info entries that Monitor/VecMonitor record for each finished episode.
MONITOR_KEYWORDS = ("is_success", "mae_focus", "mae_all")


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
        environments per Cheetah call (fast), see :func:`make_batched_env`. ``False``:
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
        from rltutorial.wrappers import make_env

        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}.")
        venv = DummyVecEnv([lambda: make_env(config) for _ in range(n_envs)])
        if seed is not None:
            venv.seed(seed)
    return VecMonitor(venv, filename=monitor_filename, info_keywords=MONITOR_KEYWORDS)


def make_batched_env(
    config: Mapping[str, Any] | None = None,
    n_envs: int = 1,
    seed: int | None = None,
    env_class: type | None = None,
):
    """A :class:`~rltutorial.envs.batched.BatchedAresEA` seeing what the config's agent sees.

    The batched environment simulates the fully observed task; with
    ``partial_observability`` set, a :class:`VecPartialObservation` turns its frames
    into the readings :func:`rltutorial.make_env` reports (the same values for the same seeds).

    Parameters
    ----------
    config : dict, optional
        Config as for :func:`rltutorial.make_env`.
    n_envs : int
        Number of environments.
    seed : int, optional
        Environment i (and its readings) is seeded with ``seed + i`` at the first reset.
    env_class : type, optional
        A subclass of ``BatchedAresEA`` to build instead (same constructor).

    Returns
    -------
    stable_baselines3.common.vec_env.VecEnv
        Flat, un-normalised observations; attributes such as ``beams`` (true beams in
        m) reach the batched environment.
    """
    from rltutorial.envs.batched import BatchedAresEA
    from rltutorial.wrappers import observes_partially

    config = validate_config(config)
    env_class = env_class or BatchedAresEA
    venv = env_class({**config, "partial_observability": None}, n_envs, seed=seed)
    if not observes_partially(config):
        return venv
    task_space = venv.get_attr("observation_space", [0])[0]
    frame_space = spaces.Dict(
        {key: task_space[key] for key in config["filter_observation"]}
    )
    venv = _vec_class()(
        venv,
        config["partial_observability"],
        frame_space,
        stack=config["frame_stack"] or 1,
    )
    if seed is not None:
        venv.seed(seed)
    return venv


def _columns(space: spaces.Dict) -> dict[str, np.ndarray]:
    """Columns of each key in the flattened ``space`` (gymnasium's flatten order)."""
    sizes = [spaces.flatdim(sub) for sub in space.spaces.values()]
    ends = np.cumsum(sizes)
    return {
        key: np.arange(end - size, end)
        for key, size, end in zip(space.spaces, sizes, ends, strict=True)
    }


class _VecPartialObservation:
    """:class:`~rltutorial.observability.PartialObservation` for a ``VecEnv``.

    The wrapped VecEnv returns, per environment, ``stack`` flattened frames of
    ``frame_space`` (oldest first); this wrapper reads the newest frame, corrupts it as
    ``PartialObservation`` does and keeps its own stack of what the agent saw, padded
    at reset with the first reading as ``FrameStackObservation`` does. Reset seeds
    follow :meth:`seed` (environment i gets ``seed + i``); ``info["beam_missing"]``
    flags stale values.

    Parameters
    ----------
    venv : VecEnv
        Environments with flat ``Box(stack · flatdim(frame_space),)`` observations.
    settings : ObservationSettings or dict
        What the agent cannot see.
    frame_space : gymnasium.spaces.Dict
        The (filtered) observation of one environment and step before flattening.
    stack : int
        Frames per observation.
    """

    def __init__(
        self,
        venv: Any,
        settings: ObservationSettings | Mapping[str, Any] | None,
        frame_space: spaces.Dict,
        stack: int = 1,
    ) -> None:
        self.settings = as_settings(settings)
        seen = observed_space(frame_space, self.settings)
        width = spaces.flatdim(frame_space)
        if venv.observation_space.shape != (stack * width,):
            raise ValueError(
                f"Observations of shape {venv.observation_space.shape} are not {stack} "
                f"flattened frame(s) of {width} values."
            )
        columns = _columns(frame_space)
        flat = spaces.flatten_space(seen)
        space = spaces.Box(
            np.tile(flat.low, stack), np.tile(flat.high, stack), dtype=flat.dtype
        )
        super().__init__(venv, observation_space=space)
        self.frame_width, self.stack = width, stack
        self.beam_columns = columns.get("beam")
        self.kept_columns = np.concatenate([columns[key] for key in seen.spaces])
        self.readers = [
            BeamReader(self.settings, seen.spaces.get("beam"))
            for _ in range(self.num_envs)
        ]
        self.pending_seeds: list[int | None] = [None] * self.num_envs
        self.seen = np.zeros((self.num_envs, stack, flat.shape[0]), flat.dtype)
        self.missing = np.zeros((self.num_envs, 4), dtype=bool)

    def seed(self, seed: int | None = None) -> list[int | None]:
        """Seed the next reset of environment i (and its readings) with ``seed + i``."""
        seeds = list(self.venv.seed(seed))
        self.pending_seeds = seeds
        return seeds

    def reset(self) -> np.ndarray:
        """Reset all environments; the first reading fills each stack."""
        newest = self._newest(self.venv.reset())
        for index, seed in enumerate(self.pending_seeds):
            self.readers[index].reset(seed)
            self.seen[index] = self._observe(index, newest[index])
        self.pending_seeds = [None] * self.num_envs
        return self.seen.reshape(self.num_envs, -1).copy()

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        """Step; finished environments report their terminal reading, then reset."""
        observations, rewards, dones, infos = self.venv.step_wait()
        newest = self._newest(observations)
        self.seen = np.roll(self.seen, -1, axis=1)
        for index, info in enumerate(infos):
            if dones[index]:
                terminal = self._newest(info["terminal_observation"][None])[0]
                self.seen[index, -1] = self._observe(index, terminal)
                info["terminal_observation"] = self.seen[index].reshape(-1).copy()
                info["beam_missing"] = self.missing[index].copy()
                self.readers[index].reset()
                self.seen[index] = self._observe(index, newest[index])
            else:
                self.seen[index, -1] = self._observe(index, newest[index])
                info["beam_missing"] = self.missing[index].copy()
        return self.seen.reshape(self.num_envs, -1).copy(), rewards, dones, infos

    def _newest(self, observations: np.ndarray) -> np.ndarray:
        stacked = np.asarray(observations).reshape(-1, self.stack, self.frame_width)
        return stacked[:, -1]

    def _observe(self, index: int, frame: np.ndarray) -> np.ndarray:
        frame = np.array(frame)
        if self.beam_columns is not None:
            reading, self.missing[index] = self.readers[index].read(
                frame[self.beam_columns]
            )
            frame[self.beam_columns] = reading
        return frame[self.kept_columns]


@functools.cache
def _vec_class() -> type:
    from stable_baselines3.common.vec_env import VecEnvWrapper

    return type(
        "VecPartialObservation",
        (_VecPartialObservation, VecEnvWrapper),
        {"__doc__": _VecPartialObservation.__doc__, "__module__": __name__},
    )


def __getattr__(name: str) -> Any:
    # VecPartialObservation subclasses Stable-Baselines3's VecEnvWrapper, which imports
    # torch; it is built on first use so that importing rltutorial stays cheap.
    if name == "VecPartialObservation":
        return _vec_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
