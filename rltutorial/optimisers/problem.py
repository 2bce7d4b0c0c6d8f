"""One seeded ARES-EA tuning problem, measured one simulation at a time within a budget.

A :class:`TuningProblem` is the problem an agent faces in the episode reset with the same
seed: ``make_env(config).reset(seed=seed)`` draws the incoming beam, the misalignments,
the target beam and the initial magnets, and the problem takes exactly those. A method
then sets the tuned magnets *absolutely* (an environment in ``"direct"`` action mode,
without the agent's action filter and rescaling) and reads the beam on the screen; every
such step is one simulation, and the problem refuses more than ``budget`` of them.

The problem keeps the history of the settings it measured, and judges each beam the way
:func:`rltutorial.evaluation.metrics.summarize` judges an episode's end: the mean absolute error
(m) of the evaluated beam parameters (``sigma_x`` and ``sigma_y``, plus ``mu_x`` and
``mu_y`` with ``include_position``), and success when each is within ``threshold``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rltutorial.config import validate_config
from rltutorial.envs.actions import get_action_mode
from rltutorial.envs.ares_ea import AresEACheetah
from rltutorial.envs.backend import Backend
from rltutorial.envs.ranges import BEAM_LABELS, MAGNET_LABELS
from rltutorial.evaluation.metrics import DEFAULT_THRESHOLD, judges_positions
from rltutorial.make import base_env, env_kwargs
from rltutorial.rewards import OBJECTIVE_WEIGHTS, objective

__all__ = [
    "PROBLEM_KEYS",
    "BudgetExhausted",
    "TuningProblem",
    "check_count",
    "check_seed",
]

#: Config keys that decide what an episode starts from (the problem behind a seed).
PROBLEM_KEYS = (
    "incoming_mode",
    "incoming_values",
    "misalignment_mode",
    "misalignment_values",
    "target_beam_mode",
    "target_beam_values",
    "magnet_init_mode",
    "magnet_init_values",
    "calibration_error",
)
#: Smallest objective in m taken before a logarithm (a beam exactly on target).
MIN_OBJECTIVE = 1e-12


class BudgetExhausted(RuntimeError):
    """A method asked for a simulation after using up its budget."""


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ValueError unless it is an integer >= minimum."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < minimum
    ):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_seed(seed: Any) -> int:
    """Return ``seed`` as an int, or raise ValueError unless it is in [0, 2**32 − 1]."""
    seed = check_count("seed", seed, minimum=0)
    if seed > 2**32 - 1:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1], got {seed!r}.")
    return seed


def _check_threshold(threshold: Any) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float, np.integer, np.floating))
        or not np.isfinite(threshold)
        or threshold < 0
    ):
        raise ValueError(
            f"threshold must be a finite number >= 0 (m), got {threshold!r}."
        )
    return float(threshold)


def _draw_start(config: Mapping[str, Any], seed: int) -> dict[str, np.ndarray]:
    """What ``make_env(config).reset(seed=seed)`` starts from (the wrappers draw nothing)."""
    env = AresEACheetah(**env_kwargs(config))
    env.reset(seed=seed)
    return {
        "incoming": env.backend.get_incoming(),
        "misalignments": env.backend.get_misalignments(),
        "target_beam": env.target.copy(),
        "magnets": env.backend.get_magnets(),
    }


class TuningProblem:
    """The seeded problem of one episode, tuned by setting magnets within a budget.

    Parameters
    ----------
    seed : int
        Reset seed: the problem of ``make_env(config).reset(seed=seed)``.
    budget : int
        Largest number of simulations (steps) a method may use.
    config : dict, optional
        Task config (default :data:`rltutorial.config.DEFAULT_CONFIG`). Its
        ``filter_action`` chooses the tuned magnets (the others stay at their initial
        settings), its ``action_mode`` their bounds, its ``objective`` what is minimised.
    threshold : float
        Largest |error| in m of each evaluated beam parameter that counts as success.
    include_position : bool, optional
        Evaluate mu_x and mu_y as well as sigma_x and sigma_y; by default when the task
        asks for them (``objective: "full"``).
    backend : str or Backend
        The machine the settings are measured on (see :func:`rltutorial.make_env`):
        the simulation by default, or e.g. an :class:`~rltutorial.machine.EpicsBackend`
        with ``hidden_state="seeded"`` (the same problem on the virtual machine).

    Attributes
    ----------
    indices : ndarray (k,) of int
        Tuned magnets in the order Q1, Q2, CV, Q3, CH (``[0, 1, 3]``: the quadrupoles).
    low, high : ndarray (k,)
        Bounds of the tuned magnets (k1 in 1/m², angles in rad).
    initial_magnets : ndarray (5,)
        Settings at reset (k1 in 1/m², angles in rad).
    initial_beam, target : ndarray (4,)
        mu_x, sigma_x, mu_y, sigma_y on the screen at reset, and the target, in m.
    """

    def __init__(
        self,
        seed: int,
        budget: int,
        config: Mapping[str, Any] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        include_position: bool | None = None,
        backend: str | Backend = "cheetah",
    ) -> None:
        self.seed = check_seed(seed)
        self.budget = check_count("budget", budget)
        self.config = validate_config(config)
        self.threshold = _check_threshold(threshold)
        if include_position is None:
            include_position = judges_positions(self.config)
        self.include_position = bool(include_position)
        self.evaluated = np.array([0, 1, 2, 3] if include_position else [1, 3])
        self.weights = OBJECTIVE_WEIGHTS[self.config["objective"]]
        mode = get_action_mode(self.config["action_mode"])
        self.indices = np.array(sorted(self.config["filter_action"]))
        self.low = mode.magnet_low[self.indices].astype(float)
        self.high = mode.magnet_high[self.indices].astype(float)
        self.start = _draw_start(self.config, self.seed)
        self.backend = backend
        self.env = base_env(self.config, backend, overrides={"action_mode": "direct"})
        _, info = self.env.reset(seed=self.seed, options=self.start)
        self.initial_magnets = info["magnets"]
        self.initial_beam = info["beam"]
        self.target = info["target"]
        self._rows: list[tuple[np.ndarray, np.ndarray]] = [
            (self.initial_magnets, self.initial_beam)
        ]

    # ------------------------------------------------------------ settings
    @property
    def labels(self) -> list[str]:
        """Names of the tuned magnets, e.g. ``["Q1", "Q2", "Q3"]``."""
        return [MAGNET_LABELS[i] for i in self.indices]

    @property
    def x0(self) -> np.ndarray:
        """Initial settings of the tuned magnets, shape (k,)."""
        return self.initial_magnets[self.indices].copy()

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Tuned settings (..., k) mapped onto the unit cube [0, 1]^k."""
        return (np.asarray(x, dtype=float) - self.low) / (self.high - self.low)

    def denormalise(self, u: np.ndarray) -> np.ndarray:
        """Unit-cube points (..., k) mapped back to settings within the bounds."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        return self.low + u * (self.high - self.low)

    # ------------------------------------------------------------ measuring
    @property
    def simulations(self) -> int:
        """Simulations used so far (the reset is not one of them)."""
        return len(self._rows) - 1

    @property
    def remaining(self) -> int:
        """Simulations still allowed."""
        return self.budget - self.simulations

    def score(self, beam: np.ndarray) -> tuple[float, float, bool]:
        """Objective (m), mean |error| of the evaluated parameters (m) and success of a beam."""
        errors = np.abs(np.asarray(beam, dtype=float) - self.target)[self.evaluated]
        value = float(objective(beam, self.target, self.weights))
        return value, float(errors.mean()), bool(np.all(errors <= self.threshold))

    @property
    def initial_objective(self) -> float:
        """Objective at reset in m."""
        return self.score(self.initial_beam)[0]

    def measure(self, x: np.ndarray) -> np.ndarray:
        """Set the tuned magnets to ``x`` (clipped to the bounds), simulate, read the screen.

        Parameters
        ----------
        x : ndarray (k,)
            Settings of the tuned magnets (k1 in 1/m², angles in rad).

        Returns
        -------
        ndarray (4,)
            mu_x, sigma_x, mu_y, sigma_y on the screen in m.

        Raises
        ------
        BudgetExhausted
            When the budget is used up. The initial settings are answered from the
            reset without a simulation.
        """
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape != self.low.shape or not np.all(np.isfinite(x)):
            raise ValueError(
                f"Settings must be {len(self.low)} finite numbers for {self.labels}, "
                f"got {x!r}."
            )
        x = np.clip(x, self.low, self.high)
        if np.array_equal(x, self.x0):
            return self.initial_beam.copy()
        if self.remaining <= 0:
            raise BudgetExhausted(
                f"The budget of {self.budget} simulations is used up."
            )
        magnets = self.initial_magnets.copy()
        magnets[self.indices] = x
        _, _, _, _, info = self.env.step(magnets)
        self.record(info["magnets"], info["beam"])
        return np.asarray(info["beam"], dtype=float)

    def evaluate(self, x: np.ndarray) -> float:
        """The objective (m) of the beam that :meth:`measure` reads at ``x``."""
        return self.score(self.measure(x))[0]

    def log_objective(self, x: np.ndarray) -> float:
        """``log(objective / 1 m)`` of :meth:`evaluate`, for methods that search in log scale."""
        return float(np.log(max(self.evaluate(x), MIN_OBJECTIVE)))

    def record(self, magnets: np.ndarray, beam: np.ndarray) -> None:
        """Add one simulated step measured elsewhere (e.g. by an agent's episode)."""
        if self.remaining <= 0:
            raise BudgetExhausted(
                f"The budget of {self.budget} simulations is used up."
            )
        self._rows.append(
            (np.asarray(magnets, dtype=float), np.asarray(beam, dtype=float))
        )

    def history(self) -> pd.DataFrame:
        """One row per step (0: the reset, then each simulation).

        Returns
        -------
        DataFrame
            ``step``; magnets ``Q1``, ``Q2``, ``CV``, ``Q3``, ``CH`` (1/m², rad); beam
            ``mu_x`` … ``sigma_y`` (m); ``objective`` and ``mae`` (m), ``success``; and
            the best step so far by objective: ``best_step``, ``best_objective``,
            ``best_mae`` (m) and ``best_success``.
        """
        magnets = np.array([row[0] for row in self._rows])
        beams = np.array([row[1] for row in self._rows])
        scores = [self.score(beam) for beam in beams]
        frame = pd.DataFrame({"step": np.arange(len(beams))})
        for i, label in enumerate(MAGNET_LABELS):
            frame[label] = magnets[:, i]
        for i, label in enumerate(BEAM_LABELS):
            frame[label] = beams[:, i]
        frame["objective"] = [s[0] for s in scores]
        frame["mae"] = [s[1] for s in scores]
        frame["success"] = np.array([s[2] for s in scores], dtype=bool)
        values = frame["objective"].to_numpy()
        best = np.zeros(len(values), dtype=int)
        for i in range(1, len(values)):
            best[i] = i if values[i] < values[best[i - 1]] else best[i - 1]
        frame["best_step"] = best
        for column in ("objective", "mae", "success"):
            frame[f"best_{column}"] = frame[column].to_numpy()[best]
        return frame
