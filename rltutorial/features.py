"""Feature extractors: how a policy network sees the flat observation.

Beam sizes on the screen span three orders of magnitude (from a few µm at the best
focus to mm), so a linear normalisation leaves the last few micrometres — where the
fine tuning happens — almost invisible to the network. :class:`LogLengthFeatures`
shows lengths on a logarithmic scale instead. Imports torch; import it lazily.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

__all__ = ["LogLengthFeatures"]

#: Lengths are measured in units of 1 µm before taking the logarithm.
LENGTH_SCALE = 1e-6
#: A length of 10 mm maps to 1.
LARGEST_LENGTH = 1e-2


class LogLengthFeatures(BaseFeaturesExtractor):
    """Scale each raw observation value by what it is.

    Values with finite bounds (magnet settings: k1 in 1/m², angles in rad) are scaled
    linearly to [−1, 1]. Unbounded values (beam and target parameters in m) become
    ``sign(x) · log(1 + |x| / 1 µm) / log(1 + 10 mm / 1 µm)``: 1 µm → 0.075,
    10 µm → 0.26, 100 µm → 0.50, 1 mm → 0.75. Use with raw observations
    (``normalize_observation: false``). The extractor has no trainable parameters.

    Parameters
    ----------
    observation_space : gym.spaces.Box
        Flat observation space; its bounds decide which values are lengths.
    """

    def __init__(self, observation_space: gym.spaces.Box) -> None:
        super().__init__(
            observation_space, features_dim=int(observation_space.shape[0])
        )
        low = np.asarray(observation_space.low, dtype=np.float64)
        high = np.asarray(observation_space.high, dtype=np.float64)
        bounded = np.isfinite(low) & np.isfinite(high)
        low = np.where(bounded, low, -1.0)  # unbounded values: centre 0, half-span 1
        high = np.where(bounded, high, 1.0)
        centre, half_span = (low + high) / 2, (high - low) / 2
        self.register_buffer("bounded", torch.as_tensor(bounded), persistent=False)
        self.register_buffer(
            "centre", torch.as_tensor(centre, dtype=torch.float32), persistent=False
        )
        self.register_buffer(
            "half_span",
            torch.as_tensor(half_span, dtype=torch.float32),
            persistent=False,
        )
        self.log_norm = math.log1p(LARGEST_LENGTH / LENGTH_SCALE)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Features of a batch of flat observations (N, d)."""
        linear = (observations - self.centre) / self.half_span
        logarithmic = (
            torch.sign(observations)
            * torch.log1p(observations.abs() / LENGTH_SCALE)
            / self.log_norm
        )
        return torch.where(self.bounded, linear, logarithmic)
