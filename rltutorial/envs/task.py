"""The rules of the ARES-EA task, independent of how many environments run at once.

:class:`TaskRules` holds the reward mode, objective, thresholds and termination settings
and judges a step: reward, whether the beam is within threshold, and whether the episode
ends. Everything broadcasts over leading batch axes, so the single environment and the
batched one share exactly the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rltutorial.envs.ranges import BEAM_LABELS
from rltutorial.envs.screen import is_on_screen
from rltutorial.registry import lookup
from rltutorial.rewards import OBJECTIVE_WEIGHTS, RewardState, get_reward

__all__ = [
    "TaskRules",
    "beam_errors",
    "error_info",
]


def beam_errors(beam: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute errors |beam − target| in m, shape (..., 4)."""
    return np.abs(np.asarray(beam, dtype=float) - np.asarray(target, dtype=float))


def error_info(beam: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Info entries ``err_mu_x`` … ``err_sigma_y``, ``mae_focus`` and ``mae_all`` (m)."""
    errors = beam_errors(beam, target)
    info = {
        f"err_{label}": float(e) for label, e in zip(BEAM_LABELS, errors, strict=True)
    }
    info["mae_focus"] = float(np.mean(errors[[1, 3]]))
    info["mae_all"] = float(np.mean(errors))
    return info


def _threshold(name: str, value: float | None) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.floating, np.integer)
    ):
        raise ValueError(f"{name} must be a number in m or None, got {value!r}.")
    if not np.isfinite(value) or value < 0:
        raise ValueError(
            f"{name} must be a finite number >= 0 (m) or None, got {value!r}."
        )
    return float(value)


@dataclass(frozen=True)
class Judgement:
    """Outcome of one step (arrays with the batch shape, or scalars)."""

    reward: np.ndarray
    in_threshold: np.ndarray
    steps_in_threshold: np.ndarray
    on_screen: np.ndarray
    terminated: np.ndarray


@dataclass
class TaskRules:
    """Reward, thresholds and termination of the ARES-EA task.

    Parameters
    ----------
    reward_mode : str
        A name in :data:`rltutorial.rewards.REWARD_MODES`.
    objective : {"focus", "full"}
        Which beam parameters the objective counts: sigmas only, or all four.
    target_mu_x_threshold, target_sigma_x_threshold, target_mu_y_threshold, target_sigma_y_threshold : float or None
        Largest |error| in m that counts as reached; ``None`` leaves that parameter out.
        With all four ``None`` the task never ends by success.
    threshold_hold : int
        Steps in a row the beam must stay within threshold before the episode ends.
    time_reward : float
        Added to the reward at every step (negative values punish slow tuning).
    abort_if_off_screen : bool
        End the episode when the beam centre leaves the screen.
    """

    reward_mode: str = "objective_improvement"
    objective: Literal["focus", "full"] = "focus"
    target_mu_x_threshold: float | None = None
    target_sigma_x_threshold: float | None = None
    target_mu_y_threshold: float | None = None
    target_sigma_y_threshold: float | None = None
    threshold_hold: int = 5
    time_reward: float = 0.0
    abort_if_off_screen: bool = False
    thresholds: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.reward_function = get_reward(self.reward_mode)
        self.weights = lookup(OBJECTIVE_WEIGHTS, self.objective, "objective")
        self.thresholds = np.array(
            [
                _threshold(
                    f"target_{label}_threshold",
                    getattr(self, f"target_{label}_threshold"),
                )
                for label in BEAM_LABELS
            ]
        )
        hold = self.threshold_hold
        if (
            isinstance(hold, bool)
            or not isinstance(hold, (int, np.integer))
            or hold < 1
        ):
            raise ValueError(f"threshold_hold must be an integer >= 1, got {hold!r}.")
        if isinstance(self.time_reward, bool) or not np.isfinite(self.time_reward):
            raise ValueError(
                f"time_reward must be a finite number, got {self.time_reward!r}."
            )
        if not isinstance(self.abort_if_off_screen, (bool, np.bool_)):
            raise ValueError(
                f"abort_if_off_screen must be True or False, got {self.abort_if_off_screen!r}."
            )

    def within_thresholds(self, beam: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Whether every parameter with a threshold is within it (False if none has one)."""
        active = np.isfinite(self.thresholds)
        errors = beam_errors(beam, target)[..., active]
        return np.all(errors <= self.thresholds[active], axis=-1) & bool(active.any())

    def judge(
        self,
        beam: np.ndarray,
        previous: np.ndarray,
        initial: np.ndarray,
        target: np.ndarray,
        pixel_sum: float | np.ndarray,
        steps_in_threshold: int | np.ndarray,
    ) -> Judgement:
        """Reward and termination for a step that produced ``beam`` (all beams in m)."""
        state = RewardState(beam, previous, initial, target, self.weights, pixel_sum)
        reward = np.asarray(self.reward_function(state), dtype=float) + self.time_reward
        inside = self.within_thresholds(beam, target)
        steps = np.where(inside, np.asarray(steps_in_threshold) + 1, 0)
        on_screen = is_on_screen(beam)
        terminated = (steps >= self.threshold_hold) | (
            self.abort_if_off_screen & ~on_screen
        )
        return Judgement(reward, inside, steps, on_screen, terminated)
