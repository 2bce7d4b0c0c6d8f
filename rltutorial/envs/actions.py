"""Action modes of the ARES-EA task: how an action vector turns into magnet settings.

A registry :data:`ACTION_MODES` maps a mode name to an :class:`ActionMode` that knows its
action bounds and how to apply an action to the current magnet settings. All functions
work on a trailing axis of 5 (Q1, Q2, CV, Q3, CH) with any leading batch axes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rltutorial.envs.ranges import CORRECTOR_ANGLE_LIMIT, MAGNET_LIMITS, QUAD_K1_LIMIT
from rltutorial.registry import lookup

__all__ = [
    "ACTION_MODES",
    "get_action_mode",
    "apply_action",
]

#: Share of each magnet's limit that one "delta" step may change it by (10 %).
DELTA_FRACTION = 0.1


@dataclass(frozen=True)
class ActionMode:
    """One way of acting on the five magnets.

    Attributes
    ----------
    low, high : ndarray (5,)
        Bounds of the action space (k1 in 1/m², angles in rad).
    magnet_low, magnet_high : ndarray (5,)
        Bounds the resulting magnet settings are clipped to.
    combine : callable
        ``combine(magnets, action) -> new magnets`` before clipping.
    description : str
        One line for users and docs.
    """

    low: np.ndarray
    high: np.ndarray
    magnet_low: np.ndarray
    magnet_high: np.ndarray
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray]
    description: str


def _set(magnets: np.ndarray, action: np.ndarray) -> np.ndarray:
    return np.broadcast_to(action, np.shape(magnets)).astype(float)


def _add(magnets: np.ndarray, action: np.ndarray) -> np.ndarray:
    return magnets + action


_DELTA_LIMITS = DELTA_FRACTION * MAGNET_LIMITS


def _add_cubed(magnets: np.ndarray, action: np.ndarray) -> np.ndarray:
    return magnets + _DELTA_LIMITS * (action / _DELTA_LIMITS) ** 3


_UNIDIRECTIONAL_LOW = np.array(
    [0.0, -QUAD_K1_LIMIT, -CORRECTOR_ANGLE_LIMIT, 0.0, -CORRECTOR_ANGLE_LIMIT]
)
_UNIDIRECTIONAL_HIGH = np.array(
    [QUAD_K1_LIMIT, 0.0, CORRECTOR_ANGLE_LIMIT, QUAD_K1_LIMIT, CORRECTOR_ANGLE_LIMIT]
)

#: Registry of action modes by name.
ACTION_MODES: dict[str, ActionMode] = {
    "direct": ActionMode(
        -MAGNET_LIMITS,
        MAGNET_LIMITS,
        -MAGNET_LIMITS,
        MAGNET_LIMITS,
        _set,
        "the action is the new magnet setting",
    ),
    "direct_unidirectional_quads": ActionMode(
        _UNIDIRECTIONAL_LOW,
        _UNIDIRECTIONAL_HIGH,
        _UNIDIRECTIONAL_LOW,
        _UNIDIRECTIONAL_HIGH,
        _set,
        "like 'direct', but Q1 and Q3 only focus (k1 >= 0) and Q2 only defocuses (k1 <= 0)",
    ),
    "delta": ActionMode(
        -_DELTA_LIMITS,
        _DELTA_LIMITS,
        -MAGNET_LIMITS,
        MAGNET_LIMITS,
        _add,
        "the action is added to the magnet setting; at most 10 % of each limit per step",
    ),
    "delta_fine": ActionMode(
        -_DELTA_LIMITS,
        _DELTA_LIMITS,
        -MAGNET_LIMITS,
        MAGNET_LIMITS,
        _add_cubed,
        "like 'delta', but the step grows with the cube of the action: half the "
        "largest action moves 1/8 as far, a tenth moves 1/1000 (fine final tuning)",
    ),
}


def get_action_mode(name: str) -> ActionMode:
    """Look up an action mode, raising a ``ValueError`` that lists the valid names."""
    return lookup(ACTION_MODES, name, "action_mode")


def apply_action(
    mode: ActionMode, magnets: np.ndarray, action: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply an action to magnet settings, clipping both to their bounds.

    Parameters
    ----------
    mode : ActionMode
        The action mode.
    magnets : ndarray (..., 5)
        Current settings (Q1, Q2, CV, Q3, CH); k1 in 1/m², angles in rad.
    action : ndarray (..., 5)
        The action, finite.

    Returns
    -------
    new_magnets : ndarray (..., 5)
        Settings after the action, within the mode's magnet bounds.
    clipped : ndarray of bool (...)
        Whether the action or the resulting settings had to be clipped.
    """
    action = np.asarray(action, dtype=float)
    if not np.all(np.isfinite(action)):
        raise ValueError(
            f"Action contains NaN or infinite values: {action!r}. "
            "Actions must be finite numbers (Q1, Q2, CV, Q3, CH)."
        )
    bounded = np.clip(action, mode.low, mode.high)
    combined = mode.combine(np.asarray(magnets, dtype=float), bounded)
    new_magnets = np.clip(combined, mode.magnet_low, mode.magnet_high)
    clipped = np.any(bounded != action, axis=-1) | np.any(
        new_magnets != combined, axis=-1
    )
    return new_magnets, clipped
