"""Reachable targets: the screen beam of random magnet settings, kept on the screen.

A target drawn uniformly from the target box is often physically unreachable (no magnet
setting produces it for this episode's incoming beam and misalignments), so an agent
cannot learn to hit it and an optimiser cannot find it. ``target_beam_mode="reachable"``
instead draws :data:`REACHABLE_CANDIDATES` random settings of the five magnets, simulates
the beam each gives on the screen, and takes the first one whose centre ± 1 sigma lies
on the screen and whose sizes are within the target box (or, if none does, the one that comes closest). Drawing
a fixed number of candidates keeps the random stream identical whether one environment
or a batch of them is reset.
"""

from __future__ import annotations

import numpy as np

from rltutorial.envs.ranges import MAGNET_LIMITS, SCREEN_HALF_SIZE, TARGET_HIGH
from rltutorial.envs.sampling import SAMPLING_MODES

__all__ = [
    "REACHABLE",
    "target_modes",
    "REACHABLE_CANDIDATES",
    "CANDIDATE_LIMITS",
    "draw_candidates",
    "pick_reachable",
]

#: Name of the target mode.
REACHABLE = "reachable"
#: Magnet settings tried per episode. With random misalignments about 14 % of candidate
#: settings give a beam that fits, so with 48 candidates nearly every episode finds one.
REACHABLE_CANDIDATES = 48
#: Candidate settings are drawn within these limits: 30 % of the quadrupole range (full
#: strength quadrupoles mostly blow the beam up or off the screen), full corrector range.
CANDIDATE_LIMITS = MAGNET_LIMITS * np.array([0.3, 0.3, 1.0, 0.3, 1.0])
#: A target beam's centre ± this many sigmas must stay on the screen.
_SIGMAS_ON_SCREEN = 1.0


def target_modes() -> list[str]:
    """Names of the target modes: every sampling mode, and ``"reachable"``."""
    return [*SAMPLING_MODES, REACHABLE]


def draw_candidates(rng: np.random.Generator) -> np.ndarray:
    """Random settings (REACHABLE_CANDIDATES, 5) uniformly within CANDIDATE_LIMITS."""
    return rng.uniform(
        -CANDIDATE_LIMITS, CANDIDATE_LIMITS, size=(REACHABLE_CANDIDATES, 5)
    )


def _overflow(beams: np.ndarray) -> np.ndarray:
    """How far (m) each beam (..., 4) sticks out of the screen or the target box."""
    mu, sigma = np.abs(beams[..., [0, 2]]), beams[..., [1, 3]]
    outside = np.maximum(mu + _SIGMAS_ON_SCREEN * sigma - SCREEN_HALF_SIZE, 0.0)
    too_big = np.maximum(sigma - TARGET_HIGH[[1, 3]], 0.0)
    return outside.sum(axis=-1) + too_big.sum(axis=-1)


def pick_reachable(beams: np.ndarray) -> np.ndarray:
    """The target among candidate screen beams (..., K, 4) [mu_x, sigma_x, mu_y, sigma_y].

    Returns the first candidate that fits (screen and target box), else the one with the
    smallest overflow; shape (..., 4).
    """
    overflow = _overflow(beams)
    fits = overflow == 0.0
    first_fit = np.argmax(fits, axis=-1)
    choice = np.where(fits.any(axis=-1), first_fit, np.argmin(overflow, axis=-1))
    return np.take_along_axis(beams, choice[..., None, None], axis=-2)[..., 0, :]
