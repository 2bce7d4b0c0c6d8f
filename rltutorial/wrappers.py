"""Wrappers around ARES-EA and :func:`make_env`, which assembles them from a config.

- :class:`FilterAction`: the agent moves only some magnets; the others are held.
- :class:`NotVecNormalize`: applies saved observation-normalisation statistics to a plain
  (non-vectorised) environment, e.g. to run a trained agent in a notebook.
- :class:`RecordEpisodes`: writes every episode as an animated GIF.
- :class:`~rltutorial.observability.PartialObservation`: noisy, flickering, incomplete
  screen readings and hidden magnets (config key ``partial_observability``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
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
from rltutorial.envs.ares_ea import AresEACheetah
from rltutorial.observability import PartialObservation, as_settings

__all__ = [
    "FilterAction",
    "NormalizationStats",
    "NotVecNormalize",
    "PartialObservation",
    "RecordEpisodes",
    "make_env",
    "env_kwargs",
    "observes_partially",
]


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
        self.action_space = spaces.Box(
            env.action_space.low[self.indices],
            env.action_space.high[self.indices],
            dtype=env.action_space.dtype,
        )

    def action(self, action: np.ndarray) -> np.ndarray:
        """Expand the agent's action to all five magnets."""
        full = np.full(self.env.action_space.shape, self.fill, dtype=float)
        full[self.indices] = action
        return full


@dataclass
class NormalizationStats:
    """Observation-normalisation statistics, storable as plain JSON (no pickle).

    ``normalized = clip((obs − mean) / sqrt(var + epsilon), −clip_obs, clip_obs)``.
    """

    mean: list[float]
    var: list[float]
    count: float
    clip_obs: float = 10.0
    epsilon: float = 1e-8

    @classmethod
    def from_vec_normalize(cls, vec_normalize: Any) -> NormalizationStats:
        """Take the statistics of a Stable-Baselines3 ``VecNormalize`` (flat observations)."""
        rms = vec_normalize.obs_rms
        return cls(
            rms.mean.tolist(),
            rms.var.tolist(),
            float(rms.count),
            float(vec_normalize.clip_obs),
            float(vec_normalize.epsilon),
        )

    def normalize(self, observation: np.ndarray) -> np.ndarray:
        """Normalise one flat observation."""
        scaled = (np.asarray(observation) - np.asarray(self.mean)) / np.sqrt(
            np.asarray(self.var) + self.epsilon
        )
        return np.clip(scaled, -self.clip_obs, self.clip_obs).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        """Write as JSON."""
        path = Path(path)
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> NormalizationStats:
        """Read from JSON, checking the fields."""
        try:
            data = json.loads(Path(path).read_text())
            stats = cls(**data)
        except (OSError, json.JSONDecodeError, TypeError) as error:
            raise ValueError(
                f"Cannot read normalisation statistics from {path}: {error}"
            ) from None
        if len(stats.mean) != len(stats.var):
            raise ValueError(
                f"{path}: mean and var differ in length ({len(stats.mean)} vs {len(stats.var)})."
            )
        return stats


class NotVecNormalize(gym.ObservationWrapper):
    """Normalise a single environment's flat observations with saved statistics.

    Parameters
    ----------
    env : gym.Env
        Environment with a flat ``Box`` observation space.
    stats : NormalizationStats
        Statistics gathered during training.
    """

    def __init__(self, env: gym.Env, stats: NormalizationStats) -> None:
        super().__init__(env)
        if env.observation_space.shape != (len(stats.mean),):
            raise ValueError(
                f"Statistics for {len(stats.mean)} observation values do not fit the "
                f"observation space of shape {env.observation_space.shape}."
            )
        self.stats = stats
        bound = np.full(env.observation_space.shape, stats.clip_obs, dtype=np.float32)
        self.observation_space = spaces.Box(-bound, bound, dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        """Normalise."""
        return self.stats.normalize(observation)


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


#: Config keys passed straight to :class:`~rltutorial.envs.AresEACheetah`.
ENV_KEYS = (
    "action_mode",
    "magnet_init_mode",
    "magnet_init_values",
    "reward_mode",
    "objective",
    "target_beam_mode",
    "target_beam_values",
    "target_mu_x_threshold",
    "target_sigma_x_threshold",
    "target_mu_y_threshold",
    "target_sigma_y_threshold",
    "threshold_hold",
    "time_reward",
    "abort_if_off_screen",
    "incoming_mode",
    "incoming_values",
    "misalignment_mode",
    "misalignment_values",
)


def env_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :class:`~rltutorial.envs.AresEACheetah` in a config."""
    config = validate_config(config)
    return {key: config[key] for key in ENV_KEYS}


def observes_partially(config: Mapping[str, Any]) -> bool:
    """Whether the agent of a (validated) config sees less than the true state."""
    return as_settings(config["partial_observability"]).active


def make_env(
    config: Mapping[str, Any] | None = None,
    record_video: bool | str | Path = False,
    monitor_filename: str | Path | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """Build the ARES-EA environment an agent sees, from a config.

    Order: AresEACheetah → TimeLimit → FilterObservation → (PartialObservation) →
    FlattenObservation → (FrameStackObservation → Flatten) → FilterAction →
    RescaleAction → (RecordEpisodes) → (Monitor). The screen's imperfections thus act
    on each reading once, before flattening and stacking. Observation/reward
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

    Returns
    -------
    gym.Env
    """
    config = validate_config(config)
    render_mode = "rgb_array" if record_video else render_mode
    env: gym.Env = AresEACheetah(render_mode=render_mode, **env_kwargs(config))
    if config["time_limit"] is not None:
        env = TimeLimit(env, max_episode_steps=config["time_limit"])
    env = FilterObservation(env, list(config["filter_observation"]))
    if observes_partially(config):
        env = PartialObservation(env, config["partial_observability"])
    env = FlattenObservation(env)
    if config["frame_stack"] is not None:
        env = FlattenObservation(FrameStackObservation(env, config["frame_stack"]))
    env = FilterAction(env, config["filter_action"])
    if config["rescale_action"] is not None:
        low, high = config["rescale_action"]
        env = RescaleAction(env, np.float32(low), np.float32(high))
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
            info_keywords=("is_success", "mae_focus", "mae_all"),
        )
    return env
