"""Partial observability: what an imperfect screen and control system report to the agent.

The config key ``partial_observability`` is ``None`` (the agent sees the true beam) or a
dict of the settings below; each one left out is off.

| setting | meaning | range |
|---|---|---|
| ``beam_noise`` | std of Gaussian noise on each beam value, in m | [0, 1e-2] |
| ``beam_noise_relative`` | std of Gaussian noise as a fraction of each beam value | [0, 1] |
| ``flicker`` | probability that the screen delivers no frame in a step | [0, 1] |
| ``sensor_dropout`` | probability that one beam value is lost in a step | [0, 1] |
| ``hide_magnets`` | leave the magnet readings out of the observation | bool |

The beam reading ``[mu_x, sigma_x, mu_y, sigma_y]`` (m) is corrupted in this order:

1. Noise: each value ``b`` gets ``N(0, s²)`` with ``s = sqrt(beam_noise² +
   (beam_noise_relative · |b|)²)``; noisy widths ``sigma_x``, ``sigma_y`` are clipped
   at 0 m (a fit reports no negative width), which biases the widths smaller than the
   noise upwards.
2. Missing readings: with probability ``flicker`` all four values are missing, and
   each value is also missing on its own with probability ``sensor_dropout``. A missing
   value repeats the last value the agent saw in this episode (sample and hold, as a
   control system keeps showing the last update), so it is a valid but stale number.
   The reading at reset is always delivered: every episode starts from a measurement.
   ``info["beam_missing"]`` (bool, shape (4,)) says which values are stale.

The randomness is seeded by the reset seed, in a stream of its own: the same seed
gives the same noise and the same missing readings, and the environment's own draws
(incoming beam, target, magnets) are those of the fully observed environment.

- :class:`PartialObservation`: gymnasium wrapper of a ``Dict`` observation (before
  flattening and frame stacking), used by :func:`rltutorial.make_env`.
- :class:`~rltutorial.vec_env.VecPartialObservation`: the same for a
  Stable-Baselines3 ``VecEnv`` of flat, stacked frames (the batched environment);
  with the same seeds and true beams it reports the very same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rltutorial.config import PARTIAL_OBSERVABILITY_SCHEMA, settings

__all__ = [
    "ObservationSettings",
    "BeamReader",
    "PartialObservation",
    "observation_rng",
    "read_beam",
    "observed_space",
]

#: Indices of sigma_x and sigma_y in a beam reading.
SIGMA_INDICES = np.array([1, 3])
#: Space of ARES-EA's beam reading [mu_x, sigma_x, mu_y, sigma_y] in m.
BEAM_SPACE = spaces.Box(
    np.array([-np.inf, 0.0, -np.inf, 0.0], np.float32),
    np.full(4, np.inf, np.float32),
    dtype=np.float32,
)
#: Spawn key that separates the observation stream from the environment's own draws.
OBSERVATION_STREAM = 0x0B5


@dataclass(frozen=True)
class ObservationSettings:
    """What the agent cannot see (see the module docstring for the details).

    Attributes
    ----------
    beam_noise : float
        Std of the absolute noise on each beam value, in m.
    beam_noise_relative : float
        Std of the relative noise, as a fraction of each beam value.
    flicker : float
        Probability that a step's whole beam reading is missing.
    sensor_dropout : float
        Probability that a single beam value is missing.
    hide_magnets : bool
        Remove ``magnets`` from the observation.
    """

    beam_noise: float = 0.0
    beam_noise_relative: float = 0.0
    flicker: float = 0.0
    sensor_dropout: float = 0.0
    hide_magnets: bool = False

    def __post_init__(self) -> None:
        settings(PARTIAL_OBSERVABILITY_SCHEMA)("partial_observability", asdict(self))

    @classmethod
    def from_mapping(cls, value: Mapping[str, Any] | None) -> ObservationSettings:
        """Validated settings from a ``partial_observability`` dict (None: all off).

        Raises
        ------
        ValueError
            For unknown settings (naming the valid ones) or values out of range.
        """
        settings(PARTIAL_OBSERVABILITY_SCHEMA)("partial_observability", value)
        values = dict(value or {})
        return cls(
            **{
                key: bool(item) if key == "hide_magnets" else float(item)
                for key, item in values.items()
            }
        )

    @property
    def corrupts_beam(self) -> bool:
        """Whether the beam reading differs from the true beam."""
        rates = (
            self.beam_noise,
            self.beam_noise_relative,
            self.flicker,
            self.sensor_dropout,
        )
        return any(rate > 0.0 for rate in rates)

    @property
    def active(self) -> bool:
        """Whether the agent sees anything other than the fully observed environment."""
        return self.corrupts_beam or self.hide_magnets

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict for a config."""
        return asdict(self)


def as_settings(
    value: ObservationSettings | Mapping[str, Any] | None,
) -> ObservationSettings:
    """Accept settings or a ``partial_observability`` dict (validated)."""
    if isinstance(value, ObservationSettings):
        return value
    return ObservationSettings.from_mapping(value)


def observation_rng(seed: int | None) -> np.random.Generator:
    """The generator of the readings after ``reset(seed=seed)`` (fresh entropy if None).

    It is independent of the environment's ``np_random`` of the same seed.
    """
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(OBSERVATION_STREAM,))
    )


def read_beam(
    beam: np.ndarray,
    held: np.ndarray | None,
    rng: np.random.Generator,
    settings: ObservationSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """One screen reading of the true beam.

    Every call draws 4 normal and 5 uniform numbers from ``rng`` whatever the settings.

    Parameters
    ----------
    beam : ndarray (4,)
        True mu_x, sigma_x, mu_y, sigma_y in m.
    held : ndarray (4,) or None
        The previous reading of this episode in m; None at reset (nothing is missing).
    rng : numpy.random.Generator
        The reading's generator.
    settings : ObservationSettings
        Noise and dropout probabilities.

    Returns
    -------
    reading : ndarray (4,)
        mu_x, sigma_x, mu_y, sigma_y in m as reported (float64, sigmas ≥ 0).
    missing : ndarray (4,) of bool
        Values that repeat ``held`` instead of a new measurement.
    """
    beam = np.asarray(beam, dtype=np.float64)
    scale = np.hypot(settings.beam_noise, settings.beam_noise_relative * np.abs(beam))
    noisy = beam + scale * rng.standard_normal(4)
    noisy[SIGMA_INDICES] = np.maximum(noisy[SIGMA_INDICES], 0.0)
    lost = rng.random(5)
    missing = (lost[1:] < settings.sensor_dropout) | (lost[0] < settings.flicker)
    if held is None:
        return noisy, np.zeros(4, dtype=bool)
    return np.where(missing, held, noisy), missing


class BeamReader:
    """The screen of one environment: seeded readings with sample and hold.

    Parameters
    ----------
    settings : ObservationSettings
        What goes wrong with the readings.
    space : gymnasium.spaces.Box, optional
        Space of the reported beam (m); readings are clipped into it and take its
        dtype. Defaults to ARES-EA's: float32, widths ≥ 0.
    """

    def __init__(
        self, settings: ObservationSettings, space: spaces.Box | None = None
    ) -> None:
        self.settings = settings
        self.space = BEAM_SPACE if space is None else space
        self.rng: np.random.Generator | None = None
        self.held: np.ndarray | None = None

    def reset(self, seed: int | None = None) -> None:
        """Start an episode; a seed (or the first reset) starts a new random stream."""
        if seed is not None or self.rng is None:
            self.rng = observation_rng(seed)
        self.held = None

    def read(self, beam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reported reading (4,) in m and missing flags (4,) for the true beam (4,) in m."""
        if self.rng is None:
            raise RuntimeError("Call reset() before read().")
        reading, missing = read_beam(beam, self.held, self.rng, self.settings)
        reading = np.clip(reading, self.space.low, self.space.high)
        self.held = reading.astype(self.space.dtype)
        return self.held.copy(), missing


def observed_space(space: spaces.Dict, settings: ObservationSettings) -> spaces.Dict:
    """The ``Dict`` space the agent sees: ``space`` without magnets if they are hidden.

    Raises
    ------
    ValueError
        If the beam is corrupted but not observed, or nothing would be left to observe.
    """
    if not isinstance(space, spaces.Dict):
        raise ValueError(
            f"Partial observability needs a Dict observation space, got {space}."
        )
    if settings.corrupts_beam and "beam" not in space.spaces:
        raise ValueError(
            "partial_observability corrupts the beam reading, but the observation "
            f"holds only {sorted(space.spaces)}; add 'beam' to filter_observation."
        )
    kept = {
        key: sub
        for key, sub in space.spaces.items()
        if not (settings.hide_magnets and key == "magnets")
    }
    if not kept:
        raise ValueError(
            "hide_magnets leaves nothing to observe; add 'beam' or 'target' to "
            "filter_observation."
        )
    return spaces.Dict(kept)


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
