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

Everything about partial observability lives in this package:

- :mod:`~rltutorial.observability.settings`: the settings, their schema and checks.
- :mod:`~rltutorial.observability.reading`: one seeded screen reading, sample and hold.
- :class:`PartialObservation`: gymnasium wrapper of a ``Dict`` observation (before
  flattening and frame stacking), used by :func:`rltutorial.make_env`.
- :func:`vec_partial_observation`: the same for a Stable-Baselines3 ``VecEnv`` of flat,
  stacked frames (the batched environment); with the same seeds and true beams it
  reports the very same values.
"""

from __future__ import annotations

from rltutorial.observability.reading import BeamReader, observed_space, read_beam
from rltutorial.observability.settings import (
    PARTIAL_OBSERVABILITY_SCHEMA,
    ObservationSettings,
    as_settings,
    hides_magnets,
    observes_partially,
)
from rltutorial.observability.wrappers import (
    PartialObservation,
    vec_partial_observation,
)

__all__ = [
    "PARTIAL_OBSERVABILITY_SCHEMA",
    "ObservationSettings",
    "PartialObservation",
    "BeamReader",
    "as_settings",
    "hides_magnets",
    "observed_space",
    "observes_partially",
    "read_beam",
    "vec_partial_observation",
]
