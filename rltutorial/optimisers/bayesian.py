"""Bayesian optimisation of the magnets with BoTorch: a Gaussian process and an acquisition.

The surrogate is BoTorch's ``SingleTaskGP`` (its default RBF kernel with one length
scale per magnet and a dimension-scaled log-normal prior on them, noise inferred),
fitted by maximum a-posteriori marginal likelihood on

- inputs: the tuned magnets mapped onto the unit cube [0, 1]^k,
- outputs: ``−log(objective)``, standardised (BoTorch maximises; the log turns beam
  sizes spanning orders of magnitude into a smooth, nearly stationary surface).

It starts from the initial magnets (measured at reset, no simulation) and
:data:`INITIAL_POINTS` uniformly random settings, then each step refits the model and
measures the setting that maximises the acquisition function (``optimize_acqf``,
multi-start L-BFGS-B). Everything runs on the CPU in float64 on one torch thread.
BoTorch is an optional dependency: ``pip install "rltutorial[beyond]"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from rltutorial.optimisers.problem import TuningProblem
from rltutorial.registry import lookup
from rltutorial.threads import torch_threads

__all__ = ["bayesian_optimisation"]

#: Uniformly random settings measured before the first model (besides the initial ones).
INITIAL_POINTS = 4
#: Exploration weight β of the upper confidence bound μ + √β σ (standardised outputs).
UCB_BETA = 2.0
_RESTARTS = 4
_RAW_SAMPLES = 128
_FIT_ITERATIONS = 100
_ACQUISITION_ITERATIONS = 100


def _log_ei(model: Any, best: Any) -> Any:
    from botorch.acquisition import LogExpectedImprovement

    return LogExpectedImprovement(model, best_f=best)


def _ucb(model: Any, best: Any) -> Any:
    from botorch.acquisition import UpperConfidenceBound

    return UpperConfidenceBound(model, beta=UCB_BETA)


#: Acquisition functions by name: (model, best standardised output so far) -> acquisition.
ACQUISITIONS: dict[str, Callable[[Any, Any], Any]] = {
    "log_ei": _log_ei,
    "ucb": _ucb,
}


def _import_botorch() -> None:
    try:
        import botorch  # noqa: F401
    except ImportError:
        raise ImportError(
            "Bayesian optimisation needs BoTorch: pip install 'rltutorial[beyond]' "
            "(or pip install botorch)."
        ) from None


def _fit(x: Any, y: Any) -> Any:
    """GP fitted to unit-cube inputs ``x`` (n, k) and outputs ``y`` (n, 1).

    Every step fits from BoTorch's default hyperparameters: starting from the previous
    step's fit is about a third faster but keeps length scales that suited fewer
    points, and found worse settings (median final objective 121 µm instead of 88 µm
    over seeds 0–5 with a budget of 50).
    """
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    model = SingleTaskGP(x, y, outcome_transform=Standardize(m=1))
    fit_gpytorch_mll(
        ExactMarginalLogLikelihood(model.likelihood, model),
        optimizer_kwargs={"options": {"maxiter": _FIT_ITERATIONS}},
    )
    return model


def _propose(model: Any, y: Any, acquisition: Callable[[Any, Any], Any]) -> np.ndarray:
    """The unit-cube point (k,) that maximises the acquisition of the fitted ``model``."""
    import torch
    from botorch.optim import optimize_acqf

    best = model.outcome_transform(y)[0].max()
    k = model.train_inputs[0].shape[-1]
    unit = torch.stack([torch.zeros(k), torch.ones(k)]).double()
    candidate, _ = optimize_acqf(
        acquisition(model, best),
        bounds=unit,
        q=1,
        num_restarts=_RESTARTS,
        raw_samples=_RAW_SAMPLES,
        options={"maxiter": _ACQUISITION_ITERATIONS},
    )
    return candidate.detach().numpy().reshape(-1)


def bayesian_optimisation(
    problem: TuningProblem,
    rng: np.random.Generator,
    acquisition: str = "log_ei",
    initial_points: int = INITIAL_POINTS,
) -> None:
    """Spend the budget on a GP-guided search (see the module docstring).

    Parameters
    ----------
    problem : TuningProblem
        The problem.
    rng : numpy.random.Generator
        Source of the initial random settings and of torch's seed.
    acquisition : {"log_ei", "ucb"}
        Log expected improvement, or the upper confidence bound with :data:`UCB_BETA`.
    initial_points : int
        Random settings before the first model.

    Notes
    -----
    If fitting the model fails (rare, on nearly duplicate points), that step measures a
    random setting instead and a warning says so.
    """
    make_acquisition = lookup(ACQUISITIONS, acquisition, "acquisition")
    _import_botorch()
    import torch
    from botorch.exceptions.errors import ModelFittingError
    from botorch.utils.sampling import manual_seed

    units = [problem.normalise(problem.x0)]
    values = [problem.log_objective(problem.x0)]
    for u in rng.uniform(
        size=(min(initial_points, problem.remaining), len(problem.low))
    ):
        units.append(u)
        values.append(problem.log_objective(problem.denormalise(u)))
    with torch_threads(1), manual_seed(int(rng.integers(2**31))):
        while problem.remaining > 0:
            x = torch.tensor(np.array(units), dtype=torch.float64)
            y = -torch.tensor(values, dtype=torch.float64).unsqueeze(-1)
            try:
                model = _fit(x, y)
                u = _propose(model, y, make_acquisition)
            except (ModelFittingError, np.linalg.LinAlgError, RuntimeError) as error:
                warnings.warn(
                    f"GP step failed ({error}); measuring a random setting instead.",
                    stacklevel=2,
                )
                u = rng.uniform(size=len(problem.low))
            units.append(u)
            values.append(problem.log_objective(problem.denormalise(u)))
