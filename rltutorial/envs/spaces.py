"""The observation spaces of the ARES-EA task (float32 boxes, units as the beam's)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

__all__ = ["STEP_OBSERVATION_LIMIT", "box", "observation_spaces"]

#: The observed step number is capped here (the workshop's time limit), so that it has
#: finite bounds and scales linearly like the magnet settings.
STEP_OBSERVATION_LIMIT = 25

_BEAM_LOW = np.array([-np.inf, 0.0, -np.inf, 0.0], dtype=np.float32)


def box(low: np.ndarray, high: np.ndarray) -> spaces.Box:
    """A float32 ``Box`` between ``low`` and ``high`` (same shape)."""
    return spaces.Box(
        np.asarray(low, np.float32), np.asarray(high, np.float32), dtype=np.float32
    )


def observation_spaces(
    magnet_low: np.ndarray,
    magnet_high: np.ndarray,
    incoming: bool,
    misalignments: bool,
) -> dict[str, spaces.Box]:
    """The boxes of the observation keys.

    Parameters
    ----------
    magnet_low, magnet_high : ndarray (5,)
        Bounds of the magnet settings (1/m², rad).
    incoming, misalignments : bool
        Whether the machine knows its incoming beam (11 numbers) and misalignments
        (8 numbers, m), so that they can be observed.

    Returns
    -------
    dict
        ``beam``, ``magnets``, ``target``, ``step`` and, where known, ``incoming`` and
        ``misalignments``.
    """
    high4 = np.full(4, np.inf, np.float32)
    result = {
        "beam": box(_BEAM_LOW, high4),
        "magnets": box(magnet_low, magnet_high),
        "target": box(_BEAM_LOW, high4),
        "step": box(np.zeros(1), np.full(1, STEP_OBSERVATION_LIMIT)),
    }
    if incoming:
        low = np.full(11, -np.inf)
        low[[0, 5, 6, 7, 8, 9, 10]] = 0.0
        result["incoming"] = box(low, np.full(11, np.inf))
    if misalignments:
        result["misalignments"] = box(np.full(8, -np.inf), np.full(8, np.inf))
    return result
