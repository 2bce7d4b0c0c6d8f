"""One screen reading: seeded noise, lost frames and values, sample and hold.

The randomness is seeded by the reset seed, in a stream of its own (see
:func:`observation_rng`), so the environment's own draws stay those of the fully
observed environment.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rltutorial.envs.ranges import SIGMA_INDICES
from rltutorial.observability.settings import ObservationSettings

__all__ = ["observation_rng", "read_beam", "BeamReader", "observed_space"]

#: Space of ARES-EA's beam reading [mu_x, sigma_x, mu_y, sigma_y] in m.
BEAM_SPACE = spaces.Box(
    np.array([-np.inf, 0.0, -np.inf, 0.0], np.float32),
    np.full(4, np.inf, np.float32),
    dtype=np.float32,
)
#: Spawn key that separates the observation stream from the environment's own draws.
OBSERVATION_STREAM = 0x0B5


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
