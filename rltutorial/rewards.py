"""Reward modes of the ARES-EA task.

A reward mode is a pure function of a :class:`RewardState` (arrays in, float out, no
state, randomness or I/O). :data:`REWARD_MODES` maps names to these functions and
:func:`register_reward` adds your own. The environment adds ``time_reward`` on top.

With the objective ``obj = Σ_i w_i |b_i − t_i|`` (beam b, target t, weights w selecting
the focusing-only or the full set of beam parameters) and ``obj₀`` its value at reset:

- ``negative_objective``: ``−obj / obj₀``
- ``objective_improvement``: ``(obj_prev − obj) / obj₀``
- ``log_improvement``: ``ln(obj₀ / obj)``; ``log_step_improvement``: ``ln(obj_prev / obj)``
- ``sum_of_pixels``: ``−Σ pixels``, the share of the beam that lights up the screen.

All functions broadcast over leading batch axes, so a batched environment uses them too.

>>> import numpy as np
>>> state = RewardState(current=np.array([0, 1e-4, 0, 1e-4]),
...                     previous=np.array([0, 2e-4, 0, 2e-4]),
...                     initial=np.array([0, 4e-4, 0, 4e-4]),
...                     target=np.zeros(4), weights=OBJECTIVE_WEIGHTS["focus"])
>>> round(float(objective_improvement(state)), 6)
0.25
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rltutorial.registry import lookup

__all__ = [
    "RewardState",
    "RewardFunction",
    "OBJECTIVE_WEIGHTS",
    "REWARD_MODES",
    "objective",
    "negative_objective",
    "objective_improvement",
    "log_improvement",
    "log_step_improvement",
    "sum_of_pixels",
    "register_reward",
    "get_reward",
]

#: Weights of [mu_x, sigma_x, mu_y, sigma_y] in the objective, by objective name.
OBJECTIVE_WEIGHTS: dict[str, np.ndarray] = {
    "focus": np.array([0.0, 1.0, 0.0, 1.0]),
    "full": np.array([1.0, 1.0, 1.0, 1.0]),
}

#: Smallest initial objective in m used for normalising (a beam already on target).
MIN_INITIAL_OBJECTIVE = 1e-9


@dataclass(frozen=True)
class RewardState:
    """Everything a reward may depend on at one step.

    Attributes
    ----------
    current, previous, initial : ndarray (..., 4)
        Beam [mu_x, sigma_x, mu_y, sigma_y] in m now, one step ago and at reset.
    target : ndarray (..., 4)
        Target beam, same order, in m.
    weights : ndarray (4,)
        Which beam parameters count in the objective (see :data:`OBJECTIVE_WEIGHTS`).
    pixel_sum : float or ndarray (...)
        Sum of the screen image now: share of the beam hitting the screen, in [0, 1].
    """

    current: np.ndarray
    previous: np.ndarray
    initial: np.ndarray
    target: np.ndarray
    weights: np.ndarray
    pixel_sum: float | np.ndarray = 1.0


RewardFunction = Callable[[RewardState], float | np.ndarray]


def objective(beam: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of absolute beam errors in m: ``Σ_i w_i |beam_i − target_i|``."""
    return np.sum(weights * np.abs(np.asarray(beam) - np.asarray(target)), axis=-1)


def _initial_objective(state: RewardState) -> np.ndarray:
    return np.maximum(
        objective(state.initial, state.target, state.weights), MIN_INITIAL_OBJECTIVE
    )


def negative_objective(state: RewardState) -> float | np.ndarray:
    """``−obj / obj₀``: 0 on target, −1 where the episode started, below −1 if worse."""
    return -objective(state.current, state.target, state.weights) / _initial_objective(
        state
    )


def objective_improvement(state: RewardState) -> float | np.ndarray:
    """``(obj_prev − obj) / obj₀``: positive when the step brought the beam closer."""
    previous = objective(state.previous, state.target, state.weights)
    current = objective(state.current, state.target, state.weights)
    return (previous - current) / _initial_objective(state)


def log_improvement(state: RewardState) -> float | np.ndarray:
    """``ln(obj₀ / obj)``: how many e-folds the beam shrank since the episode started.

    0 where the episode started, +ln 2 ≈ 0.69 at half the objective, +2.3 at a tenth.
    Every halving is worth the same, so the last micrometres of a tight focus still
    earn as much as the first millimetre did (the objective is floored at
    ``MIN_INITIAL_OBJECTIVE`` to keep the logarithm finite).
    """
    current = np.maximum(
        objective(state.current, state.target, state.weights), MIN_INITIAL_OBJECTIVE
    )
    return np.log(_initial_objective(state) / current)


def log_step_improvement(state: RewardState) -> float | np.ndarray:
    """``ln(obj_prev / obj)``: e-folds the beam shrank in this step (negative if it grew).

    Over an episode the rewards add up to ``ln(obj₀ / obj_final)``: only where the beam
    ends counts, and each step is judged by what it changed, which an agent that sees
    the previous and the current reading can tell (objectives floored at
    ``MIN_INITIAL_OBJECTIVE``).
    """
    previous = np.maximum(
        objective(state.previous, state.target, state.weights), MIN_INITIAL_OBJECTIVE
    )
    current = np.maximum(
        objective(state.current, state.target, state.weights), MIN_INITIAL_OBJECTIVE
    )
    return np.log(previous / current)


def sum_of_pixels(state: RewardState) -> float | np.ndarray:
    """``−Σ pixels``: minus the share of the beam on the screen (what a camera sees)."""
    return -np.asarray(state.pixel_sum, dtype=float)


#: Registry of reward modes: name -> function(RewardState) -> reward.
REWARD_MODES: dict[str, RewardFunction] = {
    "negative_objective": negative_objective,
    "objective_improvement": objective_improvement,
    "log_improvement": log_improvement,
    "log_step_improvement": log_step_improvement,
    "sum_of_pixels": sum_of_pixels,
}


def register_reward(
    name: str, function: RewardFunction, overwrite: bool = False
) -> None:
    """Add a reward mode so that ``reward_mode=name`` can be used everywhere.

    Parameters
    ----------
    name : str
        New mode name.
    function : callable
        ``function(state: RewardState) -> float``; must be pure (no state or I/O).
    overwrite : bool
        Replace an existing mode of that name (built-in modes cannot be replaced).

    Raises
    ------
    ValueError
        If the name is taken (and ``overwrite`` is False), empty, or built in.
    TypeError
        If ``function`` is not callable.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A reward mode needs a non-empty string name, got {name!r}.")
    if not callable(function):
        raise TypeError(f"Reward mode {name!r} must be callable, got {function!r}.")
    if name in _BUILT_IN or (name in REWARD_MODES and not overwrite):
        taken = ", ".join(sorted(REWARD_MODES))
        raise ValueError(
            f"Reward mode {name!r} already exists (taken: {taken}); choose another name"
            + ("" if name in _BUILT_IN else " or pass overwrite=True")
            + "."
        )
    REWARD_MODES[name] = function


def get_reward(name: str) -> RewardFunction:
    """Look up a reward mode, raising a ``ValueError`` that lists the valid names."""
    return lookup(REWARD_MODES, name, "reward_mode")


_BUILT_IN = frozenset(REWARD_MODES)
