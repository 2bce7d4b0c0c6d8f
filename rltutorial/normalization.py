"""Observation normalisation without pickle: statistics as JSON, applied by a wrapper.

Training normalises observations with Stable-Baselines3's ``VecNormalize``, whose own
save format is a pickle. :class:`NormalizationStats` keeps its running mean and variance
as plain JSON, and :class:`NotVecNormalize` applies them to a single (non-vectorised)
environment, e.g. to run a trained agent in a notebook.
"""

from __future__ import annotations

import dataclasses
import json
import math
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
        """Normalise flat observations (d,) or (N, d); d must be the statistics' size."""
        observation = np.asarray(observation)
        if observation.ndim == 0 or observation.shape[-1] != len(self.mean):
            raise ValueError(
                f"Observations of shape {observation.shape} do not fit statistics of "
                f"{len(self.mean)} observation values."
            )
        scaled = (observation - np.asarray(self.mean)) / np.sqrt(
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
        """Read from JSON and :meth:`check` the fields.

        Raises
        ------
        ValueError
            Naming the file and the field: unreadable, missing or unknown fields, or a
            value :meth:`check` refuses.
        """
        try:
            data = json.loads(Path(path).read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(
                f"Cannot read normalisation statistics from {path}: {error}"
            ) from None
        fields = [item.name for item in dataclasses.fields(cls)]
        if not isinstance(data, dict) or set(data) - set(fields):
            raise ValueError(
                f"{path}: expected a JSON object with the fields {', '.join(fields)}, "
                f"got {_shorten(data)}."
            )
        missing = [name for name in ("mean", "var", "count") if name not in data]
        if missing:
            raise ValueError(f"{path}: field(s) {', '.join(missing)} missing.")
        stats = cls(**data)
        stats.check(str(path))
        return stats

    def check(self, source: str = "normalisation statistics") -> None:
        """Raise ValueError unless the statistics can normalise observations.

        ``mean`` and ``var`` are equally long lists of finite numbers, ``var`` >= 0;
        ``count``, ``clip_obs`` and ``epsilon`` are finite numbers > 0.
        """
        mean = _finite_vector(source, "mean", self.mean)
        var = _finite_vector(source, "var", self.var)
        if len(mean) != len(var):
            raise ValueError(
                f"{source}: mean and var differ in length ({len(mean)} vs {len(var)})."
            )
        if (var < 0).any():
            index = int(np.argmax(var < 0))
            raise ValueError(
                f"{source}: var[{index}] = {var[index]:g} is negative; a variance is "
                ">= 0."
            )
        for name in ("count", "clip_obs", "epsilon"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value) or value <= 0:
                raise ValueError(
                    f"{source}: {name} = {_shorten(value)} must be a finite number > 0."
                )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shorten(value: Any, limit: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _finite_vector(source: str, name: str, values: Any) -> np.ndarray:
    """``values`` as a float array if it is a non-empty list of finite numbers."""
    if (
        not isinstance(values, list)
        or not values
        or not all(_is_number(value) for value in values)
    ):
        raise ValueError(
            f"{source}: {name} must be a non-empty list of numbers, got "
            f"{_shorten(values)}."
        )
    array = np.asarray(values, dtype=float)
    if not np.isfinite(array).all():
        index = int(np.argmin(np.isfinite(array)))
        raise ValueError(
            f"{source}: {name}[{index}] = {array[index]} is not a finite number."
        )
    return array


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
