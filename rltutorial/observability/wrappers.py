"""Partial observability as wrappers: a gymnasium ``Env`` and a Stable-Baselines3 ``VecEnv``.

With the same seeds and the same true beams both report the very same readings.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rltutorial.observability.reading import BeamReader, observed_space
from rltutorial.observability.settings import ObservationSettings, as_settings

__all__ = ["PartialObservation", "vec_partial_observation"]


class PartialObservation(gym.Wrapper):
    """Noisy, flickering, incomplete screen readings and optionally no magnet readings.

    Wraps an environment with a ``Dict`` observation (ARES-EA, possibly filtered) and
    returns a ``Dict`` of the same keys, without ``magnets`` if they are hidden; see
    the module docstring for the model. Adds ``info["beam_missing"]`` (4 bools).

    Parameters
    ----------
    env : gym.Env
        Environment with a ``Dict`` observation space holding ``beam`` (m).
    settings : ObservationSettings or dict, optional
        E.g. ``{"beam_noise": 1e-5, "flicker": 0.1}``; None changes nothing.

    Examples
    --------
    >>> from rltutorial.envs import AresEACheetah
    >>> settings = {"beam_noise": 1e-5, "hide_magnets": True}
    >>> env = PartialObservation(AresEACheetah(), settings)
    >>> sorted(env.reset(seed=0)[0])
    ['beam', 'incoming', 'misalignments', 'target']
    """

    def __init__(
        self,
        env: gym.Env,
        settings: ObservationSettings | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(env)
        self.settings = as_settings(settings)
        self.observation_space = observed_space(env.observation_space, self.settings)
        self.reader = BeamReader(
            self.settings, self.observation_space.spaces.get("beam")
        )
        self._missing = np.zeros(4, dtype=bool)

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset; ``seed`` also seeds the readings."""
        self.reader.reset(seed)
        observation, info = self.env.reset(seed=seed, options=options)
        return self.observation(observation), self._info(info)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], Any, bool, bool, dict]:
        """Step and report what the screen shows."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        return (
            self.observation(observation),
            reward,
            terminated,
            truncated,
            self._info(info),
        )

    def observation(
        self, observation: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """The agent's view of a true observation (advances the readings' stream)."""
        result = {key: observation[key] for key in self.observation_space.spaces}
        if "beam" in result:
            result["beam"], self._missing = self.reader.read(result["beam"])
        return result

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        return {**info, "beam_missing": self._missing.copy()}


def _columns(space: spaces.Dict) -> dict[str, np.ndarray]:
    """Columns of each key in the flattened ``space`` (gymnasium's flatten order)."""
    sizes = [spaces.flatdim(sub) for sub in space.spaces.values()]
    ends = np.cumsum(sizes)
    return {
        key: np.arange(end - size, end)
        for key, size, end in zip(space.spaces, sizes, ends, strict=True)
    }


class _VecPartialObservation:
    """:class:`PartialObservation` for a ``VecEnv``.

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


def vec_partial_observation(
    venv: Any,
    settings: ObservationSettings | Mapping[str, Any] | None,
    frame_space: spaces.Dict,
    stack: int = 1,
) -> Any:
    """Wrap ``venv`` in ``VecPartialObservation`` (a ``VecEnvWrapper``; see
    :class:`_VecPartialObservation` for the parameters)."""
    return _vec_class()(venv, settings, frame_space, stack)
