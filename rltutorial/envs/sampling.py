"""How an episode's starting quantities are chosen: at random within bounds, or constant.

The incoming beam, the misalignments, the target beam and the initial magnet settings are
each described by a :class:`Sampler` built from a mode name (``"random"`` or
``"constant"``) and optional values. Samplers validate on construction and draw only from
the generator they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rltutorial.envs.checks import check_incoming, check_misalignments
from rltutorial.envs.ranges import (
    DEFAULT_INCOMING,
    INCOMING_HIGH,
    INCOMING_LOW,
    MISALIGNMENT_LIMIT,
)
from rltutorial.registry import lookup

__all__ = [
    "SAMPLING_MODES",
    "Sampler",
    "as_vector",
    "hidden_state_samplers",
    "calibration_sampler",
    "MAX_CALIBRATION_ERROR",
]

#: Largest bound of the relative quadrupole calibration errors (dimensionless).
MAX_CALIBRATION_ERROR = 0.5


def _random(rng: np.random.Generator, sampler: Sampler) -> np.ndarray:
    return rng.uniform(sampler.low, sampler.high)


def _constant(rng: np.random.Generator, sampler: Sampler) -> np.ndarray:
    return sampler.values.copy()


#: Registry of sampling modes: name -> function(rng, sampler) -> vector.
SAMPLING_MODES: dict[str, Callable[[np.random.Generator, Sampler], np.ndarray]] = {
    "random": _random,
    "constant": _constant,
}


def as_vector(values: Sequence[float] | np.ndarray, size: int, what: str) -> np.ndarray:
    """Convert ``values`` to a finite float64 vector of ``size`` numbers or raise ValueError."""
    try:
        vector = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be {size} numbers, got {values!r}.") from None
    if vector.shape != (size,):
        raise ValueError(
            f"{what} must be {size} numbers, got shape {vector.shape}: {values!r}."
        )
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{what} must be finite, got {values!r}.")
    return vector


@dataclass
class Sampler:
    """Chooses one vector per episode.

    Parameters
    ----------
    name : str
        Keyword prefix used in messages, e.g. ``"incoming"`` (for ``incoming_mode``).
    mode : {"random", "constant"}
        Draw uniformly in [low, high], or always return ``values``.
    low, high : ndarray
        Bounds of the random mode (units of the quantity).
    values : sequence of float, optional
        The constant vector; defaults to ``default`` when omitted.
    default : ndarray
        Used as ``values`` when none are given.
    """

    name: str
    mode: str
    low: np.ndarray
    high: np.ndarray
    values: Sequence[float] | np.ndarray | None = None
    default: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        self._draw = lookup(SAMPLING_MODES, self.mode, f"{self.name}_mode")
        size = len(self.low)
        values = self.default if self.values is None else self.values
        self.values = as_vector(values, size, f"{self.name}_values")

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Return this episode's vector (float64), drawing from ``rng`` if random."""
        return self._draw(rng, self)


def hidden_state_samplers(
    incoming_mode: str = "random",
    incoming_values: Sequence[float] | np.ndarray | None = None,
    misalignment_mode: str = "constant",
    misalignment_values: Sequence[float] | np.ndarray | None = None,
) -> tuple[Sampler, Sampler]:
    """Samplers of what the agent never sees: the incoming beam and the misalignments.

    Random incoming beams are drawn within ``INCOMING_LOW`` … ``INCOMING_HIGH``, random
    misalignments within ±``MISALIGNMENT_LIMIT`` m; constant values (default: the
    default incoming beam, no misalignment) are checked against the physics limits of
    :mod:`rltutorial.envs.checks` (ValueError naming the entry and the valid range).

    Returns
    -------
    (Sampler, Sampler)
        Incoming beam (11 numbers, as in ``simulate_screen_beam``) and misalignments
        (8 numbers in m).
    """
    incoming = Sampler(
        "incoming",
        incoming_mode,
        INCOMING_LOW,
        INCOMING_HIGH,
        incoming_values,
        DEFAULT_INCOMING,
    )
    check_incoming(incoming.values, "incoming_values")
    limit = np.full(8, MISALIGNMENT_LIMIT)
    misalignments = Sampler(
        "misalignment",
        misalignment_mode,
        -limit,
        limit,
        misalignment_values,
        np.zeros(8),
    )
    check_misalignments(misalignments.values, "misalignment_values")
    return incoming, misalignments


def calibration_sampler(calibration_error: float = 0.0) -> Sampler | None:
    """Sampler of the relative calibration errors ε of Q1, Q2, Q3 (None when exact).

    Parameters
    ----------
    calibration_error : float
        Bound of ε (dimensionless): each episode draws ε uniformly in
        ±``calibration_error`` per quadrupole; 0 draws nothing (an exact machine).

    Raises
    ------
    ValueError
        If ``calibration_error`` is not a number in [0, MAX_CALIBRATION_ERROR].
    """
    if (
        isinstance(calibration_error, bool)
        or not isinstance(calibration_error, int | float | np.floating | np.integer)
        or not 0.0 <= float(calibration_error) <= MAX_CALIBRATION_ERROR
    ):
        raise ValueError(
            f"calibration_error must be a number in [0, {MAX_CALIBRATION_ERROR}] "
            f"(relative error of k1), got {calibration_error!r}."
        )
    if calibration_error == 0:
        return None
    bound = np.full(3, float(calibration_error))
    return Sampler("calibration", "random", -bound, bound, None, np.zeros(3))
