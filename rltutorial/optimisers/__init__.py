"""Classical optimisers on the ARES-EA task, and a fair comparison with agents.

A seed identifies a problem: the incoming beam, misalignments, target and initial
magnets of ``make_env(config).reset(seed=seed)``, the very episode an agent faces with
that seed. A method tunes the magnets chosen by the config's ``filter_action`` within a
budget of simulations (one simulation = one environment step):

- ``"random"``: uniform random search in the magnet box;
- ``"nelder-mead"``: bounded Nelder-Mead on the log objective from the initial magnets;
- ``"bo"``: Bayesian optimisation with BoTorch (GP on the log objective, LogEI);
- Xopt's ``"xopt-bo"``, ``"xopt-nelder-mead"`` and ``"xopt-rcds"`` (see
  :mod:`rltutorial.optimisers.xopt`; needs ``pip install xopt``);
- physics-informed baselines that use the lattice model and the screen readings
  (``"always-a+"``, ``"probe-a"``, ``"probe-infer-set"``, ``"probe-infer-refine"``,
  see :mod:`rltutorial.optimisers.physics`);
- any agent of the zoo by name or alias: its deterministic episode.

>>> from rltutorial.optimisers import compare_methods, tune
>>> result = tune("bo", seed=0, budget=30)                       # doctest: +SKIP
>>> table = compare_methods(["nelder-mead", "reference"], n=20)   # doctest: +SKIP

Optimisers end at the best setting they measured, agents at their last step (see
:mod:`rltutorial.optimisers.tuning`). Lengths are in m, k1 in 1/m², angles in rad.
"""

from __future__ import annotations

from rltutorial.optimisers.comparison import COMPARISON_COLUMNS, compare_methods
from rltutorial.optimisers.problem import BudgetExhausted, TuningProblem
from rltutorial.optimisers.tuning import (
    OPTIMISERS,
    Optimiser,
    TuningResult,
    register_optimiser,
    tune,
)
from rltutorial.optimisers.xopt import XOPT_OPTIMISERS

OPTIMISERS.update(XOPT_OPTIMISERS)

__all__ = [
    "COMPARISON_COLUMNS",
    "OPTIMISERS",
    "BudgetExhausted",
    "Optimiser",
    "TuningProblem",
    "TuningResult",
    "compare_methods",
    "register_optimiser",
    "tune",
]
