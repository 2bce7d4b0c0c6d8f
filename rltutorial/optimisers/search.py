"""Model-free searches over the magnet box: uniform random search and Nelder-Mead.

Each method spends a :class:`~rltutorial.optimisers.problem.TuningProblem`'s budget
through ``problem.evaluate`` and returns nothing: the problem keeps every measured
setting, and the tuning result reports the best one.
"""

from __future__ import annotations

import numpy as np

from rltutorial.optimisers.problem import TuningProblem

__all__ = [
    "random_search",
    "nelder_mead",
    "initial_simplex",
]

#: Edge of Nelder-Mead's initial simplex as a share of each magnet's range
#: (15 %: 21.6 1/m² for a quadrupole of [−72, 72] 1/m²).
SIMPLEX_FRACTION = 0.15
#: A restarted Nelder-Mead starts from the best setting with a simplex this much smaller.
RESTART_SHRINK = 0.3
_MAX_RESTARTS = 10


def random_search(problem: TuningProblem, rng: np.random.Generator) -> None:
    """Measure settings drawn uniformly in the magnet box until the budget is spent.

    Parameters
    ----------
    problem : TuningProblem
        The problem; its bounds ``low``/``high`` (1/m², rad) define the box.
    rng : numpy.random.Generator
        Source of the settings.
    """
    for x in rng.uniform(
        problem.low, problem.high, (problem.remaining, len(problem.low))
    ):
        problem.evaluate(x)


def initial_simplex(
    start: np.ndarray, edge: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Right-angled simplex at ``start`` with one edge of length ``edge[i]`` along axis i.

    Each edge points up, or down where going up would leave the bounds.

    Parameters
    ----------
    start : ndarray (k,)
        First vertex, within [low, high].
    edge : ndarray (k,)
        Edge lengths, at most half of ``high − low`` (same units as ``start``).
    low, high : ndarray (k,)
        Bounds.

    Returns
    -------
    ndarray (k + 1, k)
        The vertices, all within the bounds.
    """
    start = np.asarray(start, dtype=float)
    steps = np.where(start + edge <= high, edge, -edge)
    vertices = np.tile(start, (len(start) + 1, 1))
    vertices[1:] += np.diag(steps)
    return np.clip(vertices, low, high)


def nelder_mead(problem: TuningProblem, rng: np.random.Generator) -> None:
    """Bounded Nelder-Mead on the log objective, from the initial magnets.

    The search minimises ``log(objective)``: beam sizes span orders of magnitude
    (tens of µm near a focus, mm far from it), and in log scale a step that halves the
    beam counts the same near and far from the optimum. The initial simplex has edges
    of :data:`SIMPLEX_FRACTION` of each range. scipy's tolerances are set to zero so
    that the search runs until the budget is spent; should it stop early, it restarts
    from the best setting with a simplex :data:`RESTART_SHRINK` times smaller.

    Parameters
    ----------
    problem : TuningProblem
        The problem.
    rng : numpy.random.Generator
        Unused (Nelder-Mead is deterministic); part of the optimiser signature.
    """
    nelder_mead_from(
        problem, problem.x0, SIMPLEX_FRACTION * (problem.high - problem.low)
    )


def nelder_mead_from(
    problem: TuningProblem, start: np.ndarray, edges: np.ndarray
) -> None:
    """Bounded Nelder-Mead on the log objective from ``start``, until the budget is spent.

    Parameters
    ----------
    problem : TuningProblem
        The problem (its remaining budget limits the search).
    start : ndarray
        Starting settings, the problem's units (1/m², rad).
    edges : ndarray
        Edge lengths of the initial simplex per setting; each restart (should scipy stop
        early) starts from the best point with edges :data:`RESTART_SHRINK` times smaller.
    """
    from scipy.optimize import minimize

    edges = np.asarray(edges, dtype=float)
    bounds = list(zip(problem.low, problem.high, strict=True))
    for _ in range(_MAX_RESTARTS):
        if problem.remaining <= 0:
            return
        simplex = initial_simplex(start, edges, problem.low, problem.high)
        result = minimize(
            problem.log_objective,
            start,
            method="Nelder-Mead",
            bounds=bounds,
            options={
                "initial_simplex": simplex,
                "xatol": 0.0,
                "fatol": 0.0,
                "maxfev": problem.remaining + len(start) + 1,
            },
        )
        start, edges = np.asarray(result.x), edges * RESTART_SHRINK
