"""Action modes of the ARES-EA task: how an action vector turns into magnet settings.

A registry :data:`ACTION_MODES` maps a mode name to an :class:`ActionMode` that knows its
action bounds and how to apply an action to the current magnet settings. An action has
one slot per magnet (Q1, Q2, CV, Q3, CH) and, for some modes, further slots every agent
controls (``focal_choice``: five choice scores). All functions work on the trailing
axis with any leading batch axes; the environment passes the step number of the
episode, which modes such as ``focal_choice`` need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from rltutorial.envs.focal import FOCAL_NAMES, focal_settings
from rltutorial.envs.ranges import CORRECTOR_ANGLE_LIMIT, MAGNET_LIMITS, QUAD_K1_LIMIT
from rltutorial.registry import lookup

__all__ = [
    "ACTION_MODES",
    "ActionModeName",
    "FOCAL_CHOICES",
    "FOCAL_CHOICE_STEPS",
    "FOCAL_FINE_LIMITS",
    "focal_jump",
    "get_action_mode",
    "apply_action",
]

#: Names of the built-in action modes (the keys of :data:`ACTION_MODES`).
ActionModeName = Literal[
    "direct", "direct_unidirectional_quads", "delta", "delta_fine", "focal_choice"
]
#: Share of each magnet's limit that one "delta" step may change it by (10 %).
DELTA_FRACTION = 0.1
#: What the five choice scores of ``focal_choice`` stand for: the four focal-plane
#: settings of :func:`rltutorial.envs.focal.focal_settings`, and "stay".
FOCAL_CHOICES: tuple[str, ...] = (*FOCAL_NAMES, "stay")
#: Steps at the start of an episode in which ``focal_choice`` may jump (steps 0, 1, 2).
FOCAL_CHOICE_STEPS = 3
#: Largest fine change of ``focal_choice`` per step: 1/240 of each limit, i.e.
#: 0.3 1/m² for the quadrupoles and 25.7 µrad for the correctors.
FOCAL_FINE_LIMITS = MAGNET_LIMITS * (0.3 / QUAD_K1_LIMIT)


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
        ``combine(magnets, action, step) -> new magnets`` before clipping; ``step``
        (int or ndarray of the batch shape) counts the steps taken in the episode.
    description : str
        One line for users and docs.

    The first five action slots belong to the magnets (Q1, Q2, CV, Q3, CH); slots after
    them (``len(low) > 5``) are controlled by every agent, whatever magnets it moves.
    """

    low: np.ndarray
    high: np.ndarray
    magnet_low: np.ndarray
    magnet_high: np.ndarray
    combine: Callable[[np.ndarray, np.ndarray, np.ndarray | int], np.ndarray]
    description: str

    @property
    def size(self) -> int:
        """Number of action slots (5 magnets plus any further slots)."""
        return len(self.low)

    def action_indices(self, magnets: Sequence[int]) -> list[int]:
        """Action slots an agent moving ``magnets`` (indices into the five) controls."""
        return [*magnets, *range(len(MAGNET_LIMITS), self.size)]


def _set(magnets: np.ndarray, action: np.ndarray, step: np.ndarray | int) -> np.ndarray:
    return np.broadcast_to(action, np.shape(magnets)).astype(float)


def _add(magnets: np.ndarray, action: np.ndarray, step: np.ndarray | int) -> np.ndarray:
    return magnets + action


_DELTA_LIMITS = DELTA_FRACTION * MAGNET_LIMITS


def _cubed(action: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """``limits · (action / limits)³``: half the largest action moves 1/8 as far."""
    return limits * (action / limits) ** 3


def _add_cubed(
    magnets: np.ndarray, action: np.ndarray, step: np.ndarray | int
) -> np.ndarray:
    return magnets + _cubed(action, _DELTA_LIMITS)


@lru_cache(maxsize=1)
def _focal_targets() -> np.ndarray:
    """(4, 5) magnet rows of the focal-plane settings (the correctors' columns unused)."""
    rows = np.zeros((len(FOCAL_NAMES), len(MAGNET_LIMITS)))
    rows[:, [0, 1, 3]] = np.array(list(focal_settings().values()))
    rows.setflags(write=False)
    return rows


def focal_jump(
    magnets: np.ndarray, scores: np.ndarray, step: np.ndarray | int
) -> np.ndarray:
    """Magnets after the choice of ``focal_choice``, before the fine corrections.

    Parameters
    ----------
    magnets : ndarray (..., 5)
        Current settings (Q1, Q2, CV, Q3, CH); k1 in 1/m², angles in rad.
    scores : ndarray (..., 5)
        Choice scores of :data:`FOCAL_CHOICES` (A+, A−, B+, B−, stay).
    step : int or ndarray (...)
        Steps taken so far in the episode.

    Returns
    -------
    ndarray (..., 5)
        In the first :data:`FOCAL_CHOICE_STEPS` steps, when the highest score is not
        "stay", Q1, Q2, Q3 at that focal-plane setting (correctors kept); otherwise the
        magnets unchanged. Equal highest scores go to the first of them in the order
        of :data:`FOCAL_CHOICES` (``numpy.argmax``): all-zero scores choose A+.
    """
    magnets = np.asarray(magnets, dtype=float)
    choice = np.argmax(scores, axis=-1)
    jumps = (np.asarray(step) < FOCAL_CHOICE_STEPS) & (choice < len(FOCAL_NAMES))
    targets = _focal_targets()[np.minimum(choice, len(FOCAL_NAMES) - 1)]
    quads = np.zeros(len(MAGNET_LIMITS), dtype=bool)
    quads[[0, 1, 3]] = True
    return np.where(jumps[..., None] & quads, targets, magnets)


def _focal_choice(
    magnets: np.ndarray, action: np.ndarray, step: np.ndarray | int
) -> np.ndarray:
    n = len(MAGNET_LIMITS)
    jumped = focal_jump(magnets, action[..., n:], step)
    return jumped + _cubed(action[..., :n], FOCAL_FINE_LIMITS)


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
    "focal_choice": ActionMode(
        np.concatenate([-FOCAL_FINE_LIMITS, -np.ones(len(FOCAL_CHOICES))]),
        np.concatenate([FOCAL_FINE_LIMITS, np.ones(len(FOCAL_CHOICES))]),
        -MAGNET_LIMITS,
        MAGNET_LIMITS,
        _focal_choice,
        "five fine changes (cubed, at most 0.3 1/m² and 25.7 µrad per step) and five "
        "choice scores (A+, A−, B+, B−, stay): in the first 3 steps the best-scored "
        "focal-plane setting, unless 'stay', sets Q1, Q2, Q3 before the fine change",
    ),
}


def get_action_mode(name: str) -> ActionMode:
    """Look up an action mode, raising a ``ValueError`` that lists the valid names."""
    return lookup(ACTION_MODES, name, "action_mode")


def apply_action(
    mode: ActionMode,
    magnets: np.ndarray,
    action: np.ndarray,
    step: np.ndarray | int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply an action to magnet settings, clipping both to their bounds.

    Parameters
    ----------
    mode : ActionMode
        The action mode.
    magnets : ndarray (..., 5)
        Current settings (Q1, Q2, CV, Q3, CH); k1 in 1/m², angles in rad.
    action : ndarray (..., mode.size)
        The action, finite.
    step : int or ndarray (...)
        Steps taken so far in the episode (0 for the first action).

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
    combined = mode.combine(np.asarray(magnets, dtype=float), bounded, step)
    new_magnets = np.clip(combined, mode.magnet_low, mode.magnet_high)
    clipped = np.any(bounded != action, axis=-1) | np.any(
        new_magnets != combined, axis=-1
    )
    return new_magnets, clipped
