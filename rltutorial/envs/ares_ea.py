"""Transverse beam tuning at the ARES Experimental Area as a gymnasium environment."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rltutorial.envs.actions import ActionModeName, apply_action, get_action_mode
from rltutorial.envs.backend import Backend
from rltutorial.envs.checks import check_magnets, check_target
from rltutorial.envs.cheetah import CheetahBackend
from rltutorial.envs.ranges import SCREEN_BINNING, TARGET_HIGH, TARGET_LOW
from rltutorial.envs.sampling import Sampler, as_vector
from rltutorial.envs.screen import is_on_screen
from rltutorial.envs.spaces import STEP_OBSERVATION_LIMIT, box, observation_spaces
from rltutorial.envs.targets import REACHABLE, draw_candidates, pick_reachable
from rltutorial.envs.task import TaskRules, error_info
from rltutorial.rewards import objective

__all__ = ["AresEA", "AresEACheetah", "task_defaults", "STEP_OBSERVATION_LIMIT"]

#: Reset options understood by the task itself (backends add their own).
TASK_OPTION_KEYS = ("magnets", "target_beam")

_FLOAT32_MAX = np.finfo(np.float32).max


class AresEA(gym.Env):
    """Focus and centre the electron beam on the screen AREABSCR1 of ARES-EA.

    ## Description
    Three quadrupoles (Q1, Q2, Q3) and two correctors (vertical CV, horizontal CH) sit
    between the start of the Experimental Area and a diagnostic screen. The agent sets the
    magnets so that the beam on the screen matches a target ``[mu_x, sigma_x, mu_y,
    sigma_y]``. The incoming beam and the magnet misalignments are hidden from a real
    machine's operator, so the task is partially observable. The machine is a
    :class:`~rltutorial.envs.backend.Backend` (see :class:`AresEACheetah`).

    ## Action Space
    ``Box(5,)`` in order Q1, Q2, CV, Q3, CH; ``Box(10,)`` for ``focal_choice`` (the five
    magnets' fine changes, then five choice scores in [−1, 1] for A+, A−, B+, B−, stay).

    | mode | Q1, Q2, Q3 (k1, 1/m²) | CV, CH (angle, rad) |
    |---|---|---|
    | ``direct`` | new setting in [−72, 72] | new setting in [−6.1782e-3, 6.1782e-3] |
    | ``direct_unidirectional_quads`` | Q1, Q3 in [0, 72], Q2 in [−72, 0] | as direct |
    | ``delta`` | change in [−7.2, 7.2] | change in [−6.1782e-4, 6.1782e-4] |
    | ``delta_fine`` | as delta, the change ∝ action³ | as delta, ∝ action³ |
    | ``focal_choice`` | change ∝ action³, at most 0.3 | change ∝ action³, ≤ 2.57e-5 |

    With ``focal_choice``, in the first three steps of an episode the highest choice
    score, unless "stay", first sets Q1, Q2, Q3 to that focal-plane setting
    (:func:`rltutorial.envs.focal.focal_settings`); the fine change is added after.

    Actions outside the space are clipped (``info["action_clipped"]``); NaN or infinite
    actions raise ``ValueError``.

    ## Observation Space
    ``Dict`` of float32 boxes:

    | key | shape | content | unit |
    |---|---|---|---|
    | ``beam`` | (4,) | mu_x, sigma_x, mu_y, sigma_y on the screen | m |
    | ``magnets`` | (5,) | Q1, Q2, CV, Q3, CH | 1/m², rad |
    | ``target`` | (4,) | target beam, same order as ``beam`` | m |
    | ``incoming`` | (11,) | incoming beam (simulation only) | eV, m, rad |
    | ``misalignments`` | (8,) | Q1–Q3 and screen x, y (simulation only) | m |
    | ``step`` | (1,) | steps taken in the episode, capped at 25 | — |

    ## Rewards
    ``reward = REWARD_MODES[reward_mode](state) + time_reward`` with the objective
    ``obj = Σ w_i |b_i − t_i|`` (``objective="focus"``: sigmas only; ``"full"``: all four):
    ``negative_objective`` = −obj/obj₀, ``objective_improvement`` = (obj_prev − obj)/obj₀,
    ``sum_of_pixels`` = −Σ pixels (share of the beam on the screen).

    ## Starting State
    Magnets from ``magnet_init_mode`` (constant zeros by default or uniform random), target
    from ``target_beam_mode``; the backend draws its hidden state (e.g. a random incoming
    beam) from the environment's seeded generator. Given starting magnets (constant
    values or the ``magnets`` reset option) must lie within the action mode's magnet
    bounds and given targets on the screen (|mu_x|, sigma_x ≤ 4.06 mm, |mu_y|,
    sigma_y ≤ 2.50 mm, sigmas ≥ 0); anything else raises ``ValueError`` naming the
    value and the valid range, nothing is clipped silently.

    ## Episode End
    Terminated when every parameter with a threshold has been within it for
    ``threshold_hold`` steps in a row, or when ``abort_if_off_screen`` and the beam centre
    left the screen. There is no built-in time limit: wrap with ``TimeLimit`` (as
    :func:`rltutorial.make_env` does).

    ## Arguments
    The defaults are the workshop's focusing task (``rltutorial.DEFAULT_CONFIG`` reads
    them from here): ``delta`` actions from magnets at zero, the ``objective_improvement``
    reward on the two beam sizes (``objective="focus"``), the smallest spot as constant
    target, no thresholds (episodes end by the time limit of :func:`rltutorial.make_env`).

    ``backend``, ``action_mode``, ``magnet_init_mode``/``magnet_init_values``,
    ``reward_mode``, ``objective``, ``target_beam_mode``/``target_beam_values``, the four
    ``target_*_threshold`` (m or None), ``threshold_hold``, ``time_reward``,
    ``abort_if_off_screen``, ``render_mode`` (``"rgb_array"`` or None), ``screen_binning``.
    ``reset(options=...)`` accepts ``magnets``, ``target_beam`` and the backend's keys.

    ## Version History
    * v0: first release (Cheetah 0.8 backend).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
        backend: Backend,
        action_mode: ActionModeName = "delta",
        magnet_init_mode: Literal["constant", "random"] = "constant",
        magnet_init_values: Sequence[float] | None = (0.0, 0.0, 0.0, 0.0, 0.0),
        reward_mode: str = "objective_improvement",
        objective: Literal["focus", "full"] = "focus",
        target_beam_mode: Literal["constant", "random", "reachable"] = "constant",
        target_beam_values: Sequence[float] | None = (0.0, 0.0, 0.0, 0.0),
        target_mu_x_threshold: float | None = None,
        target_sigma_x_threshold: float | None = None,
        target_mu_y_threshold: float | None = None,
        target_sigma_y_threshold: float | None = None,
        threshold_hold: int = 5,
        time_reward: float = 0.0,
        abort_if_off_screen: bool = False,
        render_mode: Literal["rgb_array"] | None = None,
        screen_binning: int = SCREEN_BINNING,
    ) -> None:
        if not isinstance(backend, Backend):
            raise TypeError(
                f"backend must be a rltutorial Backend, got {type(backend).__name__}."
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"Unknown render_mode {render_mode!r}; valid choices are: 'rgb_array', None."
            )
        self.backend = backend
        self.action_mode = action_mode
        self._action = get_action_mode(action_mode)
        self.rules = TaskRules(
            reward_mode,
            objective,
            target_mu_x_threshold,
            target_sigma_x_threshold,
            target_mu_y_threshold,
            target_sigma_y_threshold,
            threshold_hold,
            time_reward,
            abort_if_off_screen,
        )
        self.magnet_sampler = Sampler(
            "magnet_init",
            magnet_init_mode,
            self._action.magnet_low,
            self._action.magnet_high,
            magnet_init_values,
            np.clip(np.zeros(5), self._action.magnet_low, self._action.magnet_high),
        )
        self._check_magnets(self.magnet_sampler.values, "magnet_init_values")
        self.reachable_target = target_beam_mode == REACHABLE
        self.target_sampler = Sampler(
            "target_beam",
            "constant" if self.reachable_target else target_beam_mode,
            TARGET_LOW,
            TARGET_HIGH,
            target_beam_values,
            np.zeros(4),
        )
        check_target(self.target_sampler.values, "target_beam_values")
        self.render_mode = render_mode
        self.screen_binning = screen_binning
        self.action_space = box(self._action.low, self._action.high)
        self.observation_space = spaces.Dict(self._observation_spaces())
        self.target = self.target_sampler.values.copy()
        self._initial_beam = self._previous_beam = None
        self._steps_in_threshold = 0
        self._time_step = 0

    def _observation_spaces(self) -> dict[str, spaces.Box]:
        return observation_spaces(
            self._action.magnet_low,
            self._action.magnet_high,
            self.backend.get_incoming() is not None,
            self.backend.get_misalignments() is not None,
        )

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode; ``options`` may fix ``magnets``, ``target_beam`` and backend keys."""
        super().reset(seed=seed)
        options = self._check_options(options)
        self.backend.reset(self.np_random, options)
        self.target = self.target_sampler.draw(self.np_random)
        if self.reachable_target:
            candidates = draw_candidates(self.np_random)
            self.target = pick_reachable(self.backend.simulate_beams(candidates))
        magnets = self.magnet_sampler.draw(self.np_random)
        if options.get("target_beam") is not None:
            self.target = check_target(
                as_vector(options["target_beam"], 4, "options['target_beam']"),
                "options['target_beam']",
            )
        if options.get("magnets") is not None:
            magnets = self._check_magnets(
                as_vector(options["magnets"], 5, "options['magnets']"),
                "options['magnets']",
            )
        self.backend.set_magnets(magnets)
        self._initial_beam = self._previous_beam = self.backend.get_beam()
        self._steps_in_threshold = 0
        self._time_step = 0
        self._last_action_clipped = False
        return self._observation(), self._info()

    def _check_magnets(self, magnets: np.ndarray, what: str) -> np.ndarray:
        """Refuse settings outside this action mode's magnet bounds (never clip them)."""
        return check_magnets(
            magnets, what, self._action.magnet_low, self._action.magnet_high
        )

    def _check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        options = dict(options or {})
        valid = set(TASK_OPTION_KEYS) | set(self.backend.option_keys)
        unknown = sorted(set(options) - valid)
        if unknown:
            raise ValueError(
                f"Unknown reset option(s) {unknown}; valid options are: {sorted(valid)}."
            )
        return options

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply the action to the magnets, read the screen, judge the step."""
        if self._initial_beam is None:
            raise RuntimeError("Call reset() before step().")
        action = np.asarray(action, dtype=float).reshape(-1)
        if action.shape != (self._action.size,):
            raise ValueError(
                f"Action of mode {self.action_mode!r} must have {self._action.size} "
                f"values (Q1, Q2, CV, Q3, CH{', choice scores' * (self._action.size > 5)}), "
                f"got shape {action.shape}."
            )
        magnets, clipped = self._apply(
            self.backend.get_magnets(), action, self._time_step
        )
        self.backend.set_magnets(magnets)
        beam = self.backend.get_beam()
        judgement = self.rules.judge(
            beam,
            self._previous_beam,
            self._initial_beam,
            self.target,
            self.backend.get_pixel_sum(),
            self._steps_in_threshold,
        )
        self._previous_beam = beam
        self._steps_in_threshold = int(judgement.steps_in_threshold)
        self._time_step += 1
        self._last_action_clipped = bool(clipped)
        info = self._info()
        return (
            self._observation(),
            float(judgement.reward),
            bool(judgement.terminated),
            False,
            info,
        )

    def _apply(
        self, magnets: np.ndarray, action: np.ndarray, step: np.ndarray | int
    ) -> tuple[np.ndarray, np.ndarray]:
        """New magnet settings (..., 5) and clipping flags for actions (..., size).

        ``step`` (int or ndarray (...)) counts the steps taken in each episode.
        """
        return apply_action(self._action, magnets, action, step)

    def _observation(self) -> dict[str, np.ndarray]:
        observation = {
            "beam": self._previous_beam,
            "magnets": self.backend.get_magnets(),
            "target": self.target,
            "incoming": self.backend.get_incoming(),
            "misalignments": self.backend.get_misalignments(),
            "step": np.minimum([self._time_step], STEP_OBSERVATION_LIMIT),
        }
        return {
            key: np.asarray(observation[key], np.float32).clip(
                -_FLOAT32_MAX, _FLOAT32_MAX
            )
            for key in self.observation_space.spaces
        }

    def _info(self) -> dict[str, Any]:
        beam = self._previous_beam
        info = error_info(beam, self.target)
        info.update(
            is_success=bool(self.rules.within_thresholds(beam, self.target)),
            steps_in_threshold=self._steps_in_threshold,
            time_step=self._time_step,
            on_screen=bool(is_on_screen(beam)),
            pixel_sum=self.backend.get_pixel_sum(),
            objective=float(objective(beam, self.target, self.rules.weights)),
            action_clipped=self._last_action_clipped,
            beam=beam.copy(),
            magnets=self.backend.get_magnets(),
            target=self.target.copy(),
        )
        info.update(self.backend.get_info())
        return info

    def render(self) -> np.ndarray | None:
        """RGB image (H, W, 3) of the screen with target (blue) and beam (red) ellipses."""
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without render_mode; pass render_mode='rgb_array'."
            )
            return None
        from rltutorial.render import render_screen

        beam = (
            self.backend.get_beam()
            if self._previous_beam is None
            else self._previous_beam
        )
        return render_screen(
            self.backend.get_screen_image(self.screen_binning),
            beam,
            self.target,
            self.rules.thresholds,
            self.backend.get_magnets(),
            self._time_step,
        )


class AresEACheetah(AresEA):
    """:class:`AresEA` simulated with Cheetah (see :class:`~rltutorial.envs.cheetah.CheetahBackend`).

    Takes every :class:`AresEA` keyword plus ``incoming_mode`` ("random" or "constant"),
    ``incoming_values`` (11 numbers), ``misalignment_mode`` ("random" or "constant") and
    ``misalignment_values`` (8 numbers, m; default none, as in the workshop) and
    ``calibration_error`` (bound of the unknown relative k1 errors of Q1, Q2, Q3 drawn
    each episode; 0: none). Reset options ``incoming``, ``misalignments`` and
    ``calibration`` fix them for one episode.
    """

    def __init__(
        self,
        incoming_mode: Literal["random", "constant"] = "random",
        incoming_values: Sequence[float] | None = None,
        misalignment_mode: Literal["random", "constant"] = "constant",
        misalignment_values: Sequence[float] | None = (0.0,) * 8,
        calibration_error: float = 0.0,
        **kwargs: Any,
    ) -> None:
        backend = CheetahBackend(
            incoming_mode,
            incoming_values,
            misalignment_mode,
            misalignment_values,
            calibration_error,
        )
        super().__init__(backend=backend, **kwargs)


#: Arguments of the environment classes that are not part of the task.
_NOT_TASK = {"self", "backend", "render_mode", "screen_binning", "kwargs"}


def task_defaults() -> dict[str, Any]:
    """The task's settings and their defaults, as :class:`AresEACheetah` takes them.

    Returns
    -------
    dict
        Keyword -> default (tuples as lists), from the signatures of
        :class:`AresEACheetah` and :class:`AresEA`: the workshop's focusing task.
    """
    parameters = {
        **inspect.signature(AresEA.__init__).parameters,
        **inspect.signature(AresEACheetah.__init__).parameters,
    }
    return {
        name: list(p.default) if isinstance(p.default, tuple) else p.default
        for name, p in parameters.items()
        if name not in _NOT_TASK
    }
