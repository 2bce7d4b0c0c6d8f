"""Small wrappers around ARES-EA (each named for what it does).

- :class:`FilterAction`: the agent moves only some magnets; the others are held.
- :class:`CheckAction`: refuses an action of the wrong shape or with NaN/inf by name,
  before any wrapper rescales or broadcasts it.
- :class:`RecordEpisodes`: writes every episode as an animated GIF.

Observation normalisation is in :mod:`rltutorial.normalization`, partial observability
in :mod:`rltutorial.observability`, and :func:`rltutorial.make_env` assembles them all
from a config (:mod:`rltutorial.make`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rltutorial.envs.checks import check_action
from rltutorial.envs.ranges import MAGNET_LABELS

__all__ = ["CheckAction", "FilterAction", "RecordEpisodes"]


class CheckAction(gym.ActionWrapper):
    """Refuse actions that do not have the action space's shape or are not finite.

    Gymnasium's ``RescaleAction`` broadcasts a scalar to every magnet and fails with
    numpy's "operands could not be broadcast" for a wrong length; as the outermost
    action wrapper this one raises a ``ValueError`` naming the expected shape and the
    bad value first. Out-of-range (finite) actions pass: the environment clips them
    and reports ``info["action_clipped"]``.

    Parameters
    ----------
    env : gym.Env
        Environment with a ``Box`` action space.
    what : str
        How messages name the action, e.g. ``"action (Q1, Q2, Q3)"``.
    """

    def __init__(self, env: gym.Env, what: str = "action") -> None:
        super().__init__(env)
        if not isinstance(env.action_space, spaces.Box):
            raise ValueError(
                f"CheckAction needs a Box action space, got {env.action_space!r}."
            )
        self.what = what

    def action(self, action: np.ndarray) -> np.ndarray:
        """The action unchanged (as the space's dtype), after the checks."""
        checked = check_action(action, self.action_space.shape, self.what)
        return checked.astype(self.action_space.dtype)


class FilterAction(gym.ActionWrapper):
    """Let the agent act on a subset of the five magnets; the others get ``fill``.

    With ``delta`` actions a fill of 0 holds a magnet where it is; with ``direct`` actions
    it sets the magnet to 0.

    Parameters
    ----------
    env : gym.Env
        Environment with a ``Box(5,)`` action space (Q1, Q2, CV, Q3, CH).
    indices : sequence of int
        Magnets the agent controls, e.g. ``[0, 1, 3]`` for the three quadrupoles.
    fill : float
        Value for the other actions.
    """

    def __init__(self, env: gym.Env, indices: Sequence[int], fill: float = 0.0) -> None:
        super().__init__(env)
        size = env.action_space.shape[0]
        indices = list(indices)
        if (
            not indices
            or sorted(set(indices)) != sorted(indices)
            or not all(0 <= i < size for i in indices)
        ):
            raise ValueError(
                f"indices must be distinct integers in 0..{size - 1}, got {indices!r}."
            )
        self.indices = np.array(indices)
        self.fill = float(fill)
        names = MAGNET_LABELS if size == len(MAGNET_LABELS) else range(size)
        self.what = f"action ({', '.join(str(names[i]) for i in indices)})"
        self.action_space = spaces.Box(
            env.action_space.low[self.indices],
            env.action_space.high[self.indices],
            dtype=env.action_space.dtype,
        )

    def action(self, action: np.ndarray) -> np.ndarray:
        """Expand the agent's action to all five magnets.

        Raises
        ------
        ValueError
            If the action has not one finite value per controlled magnet (a scalar is
            not broadcast).
        """
        full = np.full(self.env.action_space.shape, self.fill, dtype=float)
        full[self.indices] = check_action(action, self.action_space.shape, self.what)
        return full


class RecordEpisodes(gym.Wrapper):
    """Write each episode as ``<folder>/<prefix>-<n>.gif`` (needs ``render_mode='rgb_array'``).

    Parameters
    ----------
    env : gym.Env
        Environment that renders RGB arrays.
    folder : str or Path
        Where the GIFs go.
    prefix : str
        File name prefix.
    fps : float
        Frames per second of the GIFs.
    """

    def __init__(
        self,
        env: gym.Env,
        folder: str | Path,
        prefix: str = "episode",
        fps: float = 2.0,
    ) -> None:
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError(
                f"RecordEpisodes needs render_mode='rgb_array', got {env.render_mode!r}."
            )
        self.folder, self.prefix, self.fps = Path(folder), prefix, fps
        self.frames: list[np.ndarray] = []
        self.episode = 0
        self.paths: list[Path] = []

    def reset(self, **kwargs: Any):
        """Start a new recording (the previous episode was written when it ended)."""
        result = self.env.reset(**kwargs)
        self.frames = [self.env.render()]
        return result

    def step(self, action: Any):
        """Step and record; write the GIF when the episode ends."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.frames.append(self.env.render())
        if terminated or truncated:
            from rltutorial.video import write_gif

            path = self.folder / f"{self.prefix}-{self.episode}.gif"
            self.paths.append(write_gif(self.frames, path, self.fps))
            self.episode += 1
            self.frames = []
        return observation, reward, terminated, truncated, info
