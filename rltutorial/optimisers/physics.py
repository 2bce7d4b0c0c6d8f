"""Physics-informed baselines: what an operator who knows the lattice does in a few steps.

Each baseline uses only what an operator has: the screen readings of the problem (at
reset and after each step) and the lattice model of the package
(:mod:`rltutorial.envs.focal`), never the hidden incoming beam. They tune Q1, Q2, Q3 to the
focal-plane settings of :func:`rltutorial.envs.focal.focal_settings` (A+, A−, B+, B−), where
the spot no longer depends on the incoming beam's sizes, only on its divergences:

- ``"always-a+"``: set A+ in one step, whatever the beam;
- ``"probe-a"``: set A+, then A−, and go back to the better one (3 steps, 2 when A−
  is the better);
- ``"probe-infer-set"``: from the reading at reset and one probe at A+, infer the
  incoming sizes and divergences (:func:`rltutorial.envs.focal.infer_incoming`) and set the
  focal-plane setting the model predicts to be best (2 steps, 1 when that is A+);
- ``"probe-infer-refine"``: the same, then refit the beam to all readings and set the
  setting that minimises the model's predicted objective within the bounds (a search on
  the model, no simulations), 3 steps at most.

Each stops when done (the rest of the budget is not used) and ends, as every optimiser,
at its best measured setting. Other tuned magnets (correctors) stay at their initial
settings. k1 in 1/m², lengths in m.
"""

from __future__ import annotations

import numpy as np

from rltutorial.envs.focal import focal_settings, infer_incoming
from rltutorial.envs.optics import focus_sigmas
from rltutorial.envs.ranges import MAGNET_LABELS, SIGMA_INDICES
from rltutorial.optimisers.problem import TuningProblem

__all__ = [
    "PHYSICS_OPTIMISERS",
    "always_a_plus",
    "probe_a",
    "probe_infer_set",
    "probe_infer_refine",
]

_QUADRUPOLES = [MAGNET_LABELS.index(label) for label in ("Q1", "Q2", "Q3")]
#: Incoming-beam slots of sigma_x, sigma_xp, sigma_y, sigma_yp in an 11-number beam.
_MOMENT_SLOTS = [5, 6, 7, 8]


class _Operator:
    """Sets Q1, Q2, Q3 on a problem and keeps the readings (quadrupoles, beam)."""

    def __init__(self, problem: TuningProblem) -> None:
        missing = [i for i in _QUADRUPOLES if i not in problem.indices]
        if missing:
            raise ValueError(
                "The physics-informed baselines tune Q1, Q2 and Q3; this problem tunes "
                f"only {problem.labels}."
            )
        self.problem = problem
        self.slots = [
            int(np.flatnonzero(problem.indices == i)[0]) for i in _QUADRUPOLES
        ]
        self.readings = [(problem.initial_magnets[_QUADRUPOLES], problem.initial_beam)]

    def reachable(self, quadrupoles: np.ndarray) -> bool:
        """Whether Q1, Q2, Q3 (1/m²) lie within the problem's bounds."""
        low, high = self.problem.low[self.slots], self.problem.high[self.slots]
        return bool(np.all((quadrupoles >= low - 1e-9) & (quadrupoles <= high + 1e-9)))

    def set(self, quadrupoles: np.ndarray) -> np.ndarray:
        """Set Q1, Q2, Q3 (clipped to the bounds) unless they are there already; the
        beam read (4,) in m."""
        low, high = self.problem.low[self.slots], self.problem.high[self.slots]
        quadrupoles = np.clip(np.asarray(quadrupoles, dtype=float), low, high)
        last_quadrupoles, last_beam = self.readings[-1]
        if np.allclose(quadrupoles, last_quadrupoles, rtol=0.0, atol=1e-12):
            return last_beam
        x = self.problem.initial_magnets[self.problem.indices].copy()
        x[self.slots] = quadrupoles
        beam = self.problem.measure(x)
        self.readings.append((quadrupoles, beam))
        return beam

    def predicted_objective(
        self, quadrupoles: np.ndarray, moments: np.ndarray
    ) -> float:
        """The model's |sigma - target| summed over both planes (m) at a setting."""
        incoming = np.zeros(11)
        incoming[_MOMENT_SLOTS] = moments
        sigmas = focus_sigmas(quadrupoles, incoming)
        return float(np.abs(sigmas - self.problem.target[SIGMA_INDICES]).sum())

    def inferred_moments(self) -> np.ndarray:
        """sigma_x, sigma_xp, sigma_y, sigma_yp (m, rad) fitted to every reading so far."""
        quadrupoles = np.array([q for q, _ in self.readings])
        sigmas = np.array([beam[SIGMA_INDICES] for _, beam in self.readings])
        return infer_incoming(quadrupoles, sigmas)

    def focal_candidates(self) -> dict[str, np.ndarray]:
        """The focal-plane settings within the problem's bounds (ValueError if none)."""
        candidates = {n: q for n, q in focal_settings().items() if self.reachable(q)}
        if not candidates:
            raise ValueError(
                "No focal-plane setting lies within the bounds of Q1, Q2, Q3 "
                f"({self.problem.low[self.slots]} to {self.problem.high[self.slots]} "
                "1/m²)."
            )
        return candidates

    def focal(self, name: str) -> np.ndarray:
        """The focal-plane setting ``name`` (ValueError if outside the bounds)."""
        candidates = self.focal_candidates()
        if name not in candidates:
            raise ValueError(
                f"The focal-plane setting {name} lies outside the bounds of Q1, Q2, Q3; "
                f"within them: {sorted(candidates)}."
            )
        return candidates[name]


def _score(operator: _Operator, beam: np.ndarray) -> float:
    return operator.problem.score(beam)[0]


def always_a_plus(problem: TuningProblem, rng: np.random.Generator) -> None:
    """Set the focal-plane setting A+ in one step (``rng`` unused)."""
    operator = _Operator(problem)
    operator.set(operator.focal("A+"))


def probe_a(problem: TuningProblem, rng: np.random.Generator) -> None:
    """Set A+ and A−, read the screen at both, and set the better (``rng`` unused)."""
    operator = _Operator(problem)
    settings = [operator.focal(name) for name in ("A+", "A-")]
    beams = [operator.set(setting) for setting in settings]
    scores = [_score(operator, beam) for beam in beams]
    operator.set(settings[int(np.argmin(scores))])


def _probe_infer(problem: TuningProblem) -> tuple[_Operator, np.ndarray]:
    """Probe A+, infer the beam and set the best focal-plane setting; (operator, moments)."""
    operator = _Operator(problem)
    candidates = operator.focal_candidates()
    operator.set(candidates.get("A+", next(iter(candidates.values()))))
    moments = operator.inferred_moments()
    best = min(
        candidates.values(), key=lambda q: operator.predicted_objective(q, moments)
    )
    operator.set(best)
    return operator, moments


def probe_infer_set(problem: TuningProblem, rng: np.random.Generator) -> None:
    """Probe A+, infer the incoming beam from two readings, set the best focal setting.

    The reading at reset and the one at A+ give, per plane, the incoming size and
    divergence (:func:`rltutorial.envs.focal.infer_incoming`); the model then predicts the
    spot at A±, B± and the best is set. ``rng`` is unused.
    """
    _probe_infer(problem)


def probe_infer_refine(problem: TuningProblem, rng: np.random.Generator) -> None:
    """:func:`probe_infer_set`, then set the model's best setting within the bounds.

    The beam is refitted to all readings, and bounded Nelder-Mead on the model (no
    simulations) starts from the best focal-plane setting; its result is set as the last
    step. ``rng`` is unused.
    """
    from scipy.optimize import minimize

    operator, _ = _probe_infer(problem)
    moments = operator.inferred_moments()
    start = operator.readings[-1][0]
    bounds = list(
        zip(problem.low[operator.slots], problem.high[operator.slots], strict=True)
    )
    result = minimize(
        lambda q: operator.predicted_objective(q, moments),
        start,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-7, "fatol": 1e-12, "maxfev": 4000},
    )
    if operator.predicted_objective(result.x, moments) < operator.predicted_objective(
        start, moments
    ):
        operator.set(np.asarray(result.x))


#: The baselines by method name, registered with :data:`rltutorial.optimisers.OPTIMISERS`.
PHYSICS_OPTIMISERS = {
    "always-a+": always_a_plus,
    "probe-a": probe_a,
    "probe-infer-set": probe_infer_set,
    "probe-infer-refine": probe_infer_refine,
}
