"""Checks of the physics inputs at the edges: magnets, incoming beams, misalignments,
targets and actions.

Every function takes an array with any leading batch axes and the trailing axis of its
quantity, returns it as a float64 array and raises ``ValueError`` naming the input
(``what``), the first bad entry (its label and batch index), its value and the valid
range. They are small and pure, so that every path that simulates the machine (the
environment, :func:`~rltutorial.envs.cheetah.simulate_screen_beam`, the sweep backend,
a faster optics path) can call the same rules.

>>> check_magnets([10.0, -5.0, 1e-3, 2.0, 0.0]).tolist()
[10.0, -5.0, 0.001, 2.0, 0.0]
>>> check_magnets([1e4, 0.0, 0.0, 0.0, 0.0])
Traceback (most recent call last):
...
ValueError: magnets: Q1 = 10000 1/m² is outside [-72, 72] 1/m²
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rltutorial.envs.ranges import (
    INCOMING_LABELS,
    MAGNET_LABELS,
    MAGNET_LIMITS,
    MISALIGNMENT_BOUND,
    SCREEN_HALF_SIZE,
)

__all__ = [
    "LIMIT_TOLERANCE",
    "check_action",
    "check_incoming",
    "check_magnets",
    "check_misalignments",
    "check_target",
]

#: Relative slack on the magnet limits, so that a setting at a limit that went through
#: float32 (an observation) is still accepted: 72 * (1 + 1e-6) 1/m².
LIMIT_TOLERANCE = 1e-6

#: |setting| allowed with the default limits, slack included.
_MAGNET_BOUND = MAGNET_LIMITS * (1 + LIMIT_TOLERANCE)
_MAGNET_UNITS = ("1/m²", "1/m²", "rad", "1/m²", "rad")
_INCOMING_UNITS = ("eV", "m", "rad", "m", "rad", "m", "rad", "m", "rad", "m", "")
#: Incoming-beam entries that must be > 0: energy and every size and spread.
_POSITIVE_INCOMING = tuple(
    i
    for i, label in enumerate(INCOMING_LABELS)
    if label == "energy" or "sigma" in label
)
#: Exclusive lower bounds of the incoming beam: 0 where > 0 is needed, else -inf.
_INCOMING_FLOOR = np.where(np.isin(np.arange(11), _POSITIVE_INCOMING), 0.0, -np.inf)
_MISALIGNMENT_LABELS = tuple(
    f"{element} {axis}"
    for element in ("Q1", "Q2", "Q3", "screen")
    for axis in ("x", "y")
)
_TARGET_LABELS = ("mu_x", "sigma_x", "mu_y", "sigma_y")


def _convert(values: Any, size: int, what: str, labels: Sequence[str]) -> np.ndarray:
    """``values`` as a float64 copy of shape (..., size), or ValueError."""
    try:
        array = np.array(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be numbers with a last axis of {size} "
            f"({', '.join(labels)}), got {_short(values)}"
        ) from None
    if array.ndim == 0 or array.shape[-1] != size:
        raise ValueError(
            f"{what} must have a last axis of {size} ({', '.join(labels)}), got shape "
            f"{array.shape}: {_short(values)}"
        )
    return array


def _require_finite(array: np.ndarray, what: str, labels: Sequence[str]) -> None:
    """Raise naming the first NaN or infinite entry of ``array``, if any."""
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what}: {labels[index[-1]]}{_at(index)} = {array[index]} is not a "
            "finite number (NaN or infinite)"
        )


def _outside(
    array: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    what: str,
    labels: Sequence[str],
    units: Sequence[str],
    slack: np.ndarray | float = 0.0,
) -> None:
    """Raise naming the first entry of ``array`` outside [low - slack, high + slack]."""
    bad = (array < low - slack) | (array > high + slack)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    column = index[-1]
    unit = f" {units[column]}" if units[column] else ""
    raise ValueError(
        f"{what}: {labels[column]}{_at(index)} = {array[index]:g}{unit} is outside "
        f"[{low[column]:g}, {high[column]:g}]{unit}"
    )


def _at(index: tuple[int, ...]) -> str:
    """`` at index (i, j)`` for a batch entry, nothing for a single vector."""
    return f" at index {index[:-1]}" if len(index) > 1 else ""


def _short(value: Any, limit: int = 200) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_magnets(
    magnets: Any,
    what: str = "magnets",
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> np.ndarray:
    """Magnet settings (..., 5), finite and within the power-supply limits.

    Parameters
    ----------
    magnets : array_like (..., 5)
        Q1, Q2 (k1 in 1/m²), CV (rad), Q3 (1/m²), CH (rad).
    what : str
        Name of the input in messages.
    low, high : ndarray (5,), optional
        Narrower bounds (an action mode's); default ±:data:`MAGNET_LIMITS`
        (72 1/m², 6.1782e-3 rad). Both get a relative slack of :data:`LIMIT_TOLERANCE`.

    Returns
    -------
    ndarray (..., 5)
        The settings as float64 (a copy).

    Raises
    ------
    ValueError
        For a wrong shape, a NaN or infinite value or a setting beyond the limits,
        naming the magnet, its value and the valid range.
    """
    array = _convert(magnets, 5, what, MAGNET_LABELS)
    if low is None and high is None and (np.abs(array) <= _MAGNET_BOUND).all():
        return array  # the common case in one pass (NaN fails the comparison)
    _require_finite(array, what, MAGNET_LABELS)
    low = -MAGNET_LIMITS if low is None else np.asarray(low, dtype=float)
    high = MAGNET_LIMITS if high is None else np.asarray(high, dtype=float)
    slack = LIMIT_TOLERANCE * MAGNET_LIMITS
    _outside(array, low, high, what, MAGNET_LABELS, _MAGNET_UNITS, slack)
    return array


def check_incoming(incoming: Any, what: str = "incoming") -> np.ndarray:
    """Incoming beams (..., 11), finite, with a positive energy, sizes and spreads.

    Parameters
    ----------
    incoming : array_like (..., 11)
        energy (eV), mu_x (m), mu_xp (rad), mu_y (m), mu_yp (rad), sigma_x (m),
        sigma_xp (rad), sigma_y (m), sigma_yp (rad), sigma_s (m), sigma_p (relative).
    what : str
        Name of the input in messages.

    Returns
    -------
    ndarray (..., 11)
        The beams as float64 (a copy).

    Raises
    ------
    ValueError
        For a wrong shape, a NaN or infinite value, or an energy, size or spread
        that is not > 0, naming the entry and its value.
    """
    array = _convert(incoming, 11, what, INCOMING_LABELS)
    if ((array > _INCOMING_FLOOR) & (array < np.inf)).all():
        return array  # the common case in one pass (NaN fails the comparisons)
    _require_finite(array, what, INCOMING_LABELS)
    positive = array[..., _POSITIVE_INCOMING]
    bad = positive <= 0
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        column = _POSITIVE_INCOMING[index[-1]]
        unit = f" {_INCOMING_UNITS[column]}" if _INCOMING_UNITS[column] else ""
        raise ValueError(
            f"{what}: {INCOMING_LABELS[column]}{_at(index)} = {positive[index]:g}{unit} "
            f"must be > 0 (energy, sizes and spreads are positive; the random beams "
            f"have energies of 80-160 MeV)"
        )
    return array


def check_misalignments(misalignments: Any, what: str = "misalignments") -> np.ndarray:
    """Misalignments (..., 8) in m, finite and within ±:data:`MISALIGNMENT_BOUND`.

    Parameters
    ----------
    misalignments : array_like (..., 8)
        x and y offsets of Q1, Q2, Q3 and the screen in m.
    what : str
        Name of the input in messages.

    Returns
    -------
    ndarray (..., 8)
        The offsets as float64 (a copy).

    Raises
    ------
    ValueError
        For a wrong shape, a NaN or infinite value or an offset beyond the bound.
    """
    array = _convert(misalignments, 8, what, _MISALIGNMENT_LABELS)
    if (np.abs(array) <= MISALIGNMENT_BOUND).all():
        return array
    _require_finite(array, what, _MISALIGNMENT_LABELS)
    bound = np.full(8, MISALIGNMENT_BOUND)
    _outside(array, -bound, bound, what, _MISALIGNMENT_LABELS, ("m",) * 8)
    return array


def check_target(target: Any, what: str = "target_beam") -> np.ndarray:
    """Target beams (..., 4) in m: on the screen, sizes >= 0.

    Parameters
    ----------
    target : array_like (..., 4)
        mu_x, sigma_x, mu_y, sigma_y in m.
    what : str
        Name of the input in messages.

    Returns
    -------
    ndarray (..., 4)
        The targets as float64 (a copy).

    Raises
    ------
    ValueError
        For a wrong shape, a NaN or infinite value, a negative size, or a position
        or size beyond the screen's half-size (4.06 mm in x, 2.50 mm in y).
    """
    array = _convert(target, 4, what, _TARGET_LABELS)
    _require_finite(array, what, _TARGET_LABELS)
    half_x, half_y = SCREEN_HALF_SIZE
    low = np.array([-half_x, 0.0, -half_y, 0.0])
    high = np.array([half_x, half_x, half_y, half_y])
    _outside(array, low, high, what, _TARGET_LABELS, ("m",) * 4)
    return array


def check_action(
    action: Any, shape: tuple[int, ...], what: str = "action"
) -> np.ndarray:
    """An action of exactly ``shape``, all finite (out-of-bounds values are allowed).

    Parameters
    ----------
    action : array_like
        The action (in the units of the action space it belongs to).
    shape : tuple of int
        The action space's shape, e.g. ``(3,)``, or ``(n_envs, 3)`` for a batch.
    what : str
        Name of the input in messages, e.g. ``"action for Q1, Q2, Q3"``.

    Returns
    -------
    ndarray
        The action as float64 (a copy).

    Raises
    ------
    ValueError
        For another shape (a scalar is not broadcast to all magnets) or a NaN or
        infinite value, naming its position.
    """
    try:
        array = np.array(action, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers, got {_short(action)}") from None
    if array.shape != tuple(shape):
        raise ValueError(
            f"{what} must have shape {tuple(shape)}, got shape {array.shape}: "
            f"{_short(action)}"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what} must be finite numbers, got {array[index]} (NaN or infinite) at "
            f"position {index}: {_short(action)}"
        )
    return array
