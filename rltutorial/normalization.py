"""Observation normalisation without pickle: statistics as JSON, applied by a wrapper.

Training normalises observations with Stable-Baselines3's ``VecNormalize``, whose own
save format is a pickle. :class:`NormalizationStats` keeps its running mean and variance
as plain JSON, and :class:`NotVecNormalize` applies them to a single (non-vectorised)
environment, e.g. to run a trained agent in a notebook.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["NormalizationStats", "NotVecNormalize"]


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
