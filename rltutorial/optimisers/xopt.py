"""Xopt's optimisers on the ARES-EA tuning problem, beside the package's own.

`Xopt <https://github.com/xopt-org/Xopt>`_ is the optimisation library accelerator
physicists run in control rooms (Badger's algorithms come from it). An optimisation in
Xopt is a VOCS (variables, objectives, constraints) plus a generator (the algorithm)
and an evaluator (the measurement). Here

- :func:`make_vocs`: the variables are the tuned magnets within their bounds (k1 in
  1/m², angles in rad), the one objective ``log_objective`` = log(objective / 1 m) is
  minimised (the same log scale as the package's Nelder-Mead and BO);
- :func:`make_evaluator`: one evaluation sets the magnets through
  :meth:`~rltutorial.optimisers.TuningProblem.evaluate`, on whatever backend the
  problem runs (simulation or a machine), one step of the budget each;
- :data:`XOPT_OPTIMISERS`: ``"xopt-bo"`` (expected improvement on a GP),
  ``"xopt-nelder-mead"`` and ``"xopt-rcds"`` (robust conjugate direction search),
  registered with :func:`~rltutorial.optimisers.register_optimiser`'s registry so that
  :func:`~rltutorial.optimisers.tune` and
  :func:`~rltutorial.optimisers.compare_methods` run them on the same seeded problems.

Every run starts from the problem's initial magnets (known from the reset, no
measurement). Xopt is optional: ``pip install "rltutorial[machine]"`` (or
``pip install xopt``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from rltutorial.optimisers.bayesian import INITIAL_POINTS
from rltutorial.optimisers.problem import TuningProblem
from rltutorial.optimisers.search import SIMPLEX_FRACTION, initial_simplex
from rltutorial.threads import torch_threads

__all__ = [
    "XOPT_OPTIMISERS",
    "make_vocs",
    "make_evaluator",
    "run_xopt",
    "xopt_nelder_mead",
]

#: Name of the objective in Xopt's data.
OBJECTIVE = "log_objective"
#: RCDS's initial step, as a share of each magnet's range (Xopt's default is 0.01).
RCDS_STEP = 0.1
#: RCDS's noise estimate of the log objective (Xopt's default 1e-5).
RCDS_NOISE = 1e-3
#: Restarts of the acquisition optimisation in BO (Xopt's default 20).
BO_RESTARTS = 4
#: Generators asked for at most this many candidates per budget step (a guard against
#: a generator that proposes only the start, which costs nothing).
_PROPOSALS_PER_STEP = 5


def _import_xopt():
    try:
        import xopt
    except ImportError:
        raise ImportError(
            "Xopt's optimisers need xopt: pip install 'rltutorial[machine]' "
            "(or pip install xopt)."
        ) from None
    return xopt


def make_vocs(problem: TuningProblem) -> Any:
    """Xopt's VOCS of a problem: the tuned magnets and the minimised log objective.

    Returns
    -------
    xopt.VOCS
        Variables named by magnet label (``Q1``, ``Q2``, ``Q3``, …) with the problem's
        bounds; one objective :data:`OBJECTIVE` to minimise.
    """
    xopt = _import_xopt()
    variables = {
        label: [float(low), float(high)]
        for label, low, high in zip(
            problem.labels, problem.low, problem.high, strict=True
        )
    }
    return xopt.VOCS(variables=variables, objectives={OBJECTIVE: "MINIMIZE"})


def make_evaluator(problem: TuningProblem) -> Any:
    """An Xopt evaluator that measures settings on the problem's machine.

    Returns
    -------
    xopt.Evaluator
        ``{label: setting} -> {"log_objective": log(objective / 1 m)}``.
    """
    xopt = _import_xopt()
    labels = problem.labels

    def measure(inputs: dict[str, float]) -> dict[str, float]:
        x = np.array([inputs[label] for label in labels], dtype=float)
        return {OBJECTIVE: problem.log_objective(x)}

    return xopt.Evaluator(function=measure)


def _points(problem: TuningProblem, x: np.ndarray) -> pd.DataFrame:
    """Settings (n, k) as Xopt's input rows."""
    return pd.DataFrame(np.atleast_2d(x), columns=problem.labels)


def run_xopt(
    problem: TuningProblem,
    generator: Any,
    initial: np.ndarray | None = None,
    measure_start: bool = True,
) -> Any:
    """Spend the problem's budget with an Xopt generator.

    Parameters
    ----------
    problem : TuningProblem
        The problem (any backend).
    generator : xopt.Generator
        Built on :func:`make_vocs` of the problem.
    initial : ndarray (n, k), optional
        Settings measured before the generator's first proposal (after the start).
    measure_start : bool
        Put the initial magnets into Xopt's data first (free: known from the reset).
        Sequential generators (Nelder-Mead, RCDS) start from the last point of the
        data; Nelder-Mead then ignores its ``initial_simplex``, so it is run without.

    Returns
    -------
    xopt.Xopt
        The optimisation, with every measurement in ``.data``.
    """
    xopt = _import_xopt()
    run = xopt.Xopt(generator=generator, evaluator=make_evaluator(problem))
    if measure_start:
        run.evaluate_data(_points(problem, problem.x0))
    if initial is not None and len(initial):
        run.evaluate_data(_points(problem, initial[: problem.remaining]))
    for _ in range(_PROPOSALS_PER_STEP * problem.budget):
        if problem.remaining <= 0:
            break
        run.step()
    return run


def xopt_nelder_mead(
    problem: TuningProblem, rng: np.random.Generator, adaptive: bool = True
) -> None:
    """Xopt's Nelder-Mead from the start, with the package's initial simplex.

    ``adaptive`` (Xopt's default) scales the reflection, expansion and contraction
    with the number of magnets (Gao and Han 2012); with ``adaptive=False`` the search
    is SciPy's, step for step the package's ``"nelder-mead"`` without its restarts.
    """
    _import_xopt()
    from xopt.generators.sequential.neldermead import NelderMeadGenerator

    simplex = initial_simplex(
        problem.x0,
        SIMPLEX_FRACTION * (problem.high - problem.low),
        problem.low,
        problem.high,
    )
    generator = NelderMeadGenerator(
        vocs=make_vocs(problem),
        initial_point=dict(zip(problem.labels, map(float, problem.x0), strict=True)),
        initial_simplex={
            label: simplex[:, i] for i, label in enumerate(problem.labels)
        },
        adaptive=adaptive,
    )
    run_xopt(problem, generator, measure_start=False)


def _rcds(problem: TuningProblem, rng: np.random.Generator) -> None:
    """Xopt's RCDS (Huang et al. 2013) from the start, steps in the unit cube."""
    _import_xopt()
    from xopt.generators.sequential.rcds import RCDSGenerator

    generator = RCDSGenerator(vocs=make_vocs(problem), step=RCDS_STEP, noise=RCDS_NOISE)
    run_xopt(problem, generator)


def _bayesian(problem: TuningProblem, rng: np.random.Generator) -> None:
    """Xopt's expected-improvement BO after :data:`INITIAL_POINTS` random settings."""
    _import_xopt()
    from botorch.utils.sampling import manual_seed
    from xopt.generators.bayesian.expected_improvement import (
        ExpectedImprovementGenerator,
    )

    generator = ExpectedImprovementGenerator(vocs=make_vocs(problem))
    generator.numerical_optimizer.n_restarts = BO_RESTARTS
    initial = rng.uniform(problem.low, problem.high, (INITIAL_POINTS, len(problem.low)))
    with (
        torch_threads(1),
        manual_seed(int(rng.integers(2**31))),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # GP fit and acquisition warnings (numerics)
        run_xopt(problem, generator, initial)


#: Xopt's optimisers by name: ``optimiser(problem, rng)`` as in :data:`~rltutorial.optimisers.OPTIMISERS`.
XOPT_OPTIMISERS: dict[str, Callable[[TuningProblem, np.random.Generator], None]] = {
    "xopt-bo": _bayesian,
    "xopt-nelder-mead": xopt_nelder_mead,
    "xopt-rcds": _rcds,
}
