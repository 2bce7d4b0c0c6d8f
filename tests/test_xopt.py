"""Xopt's optimisers on the tuning problem: VOCS, budget, equivalence, comparison rows."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("xopt")

from rltutorial.optimisers import OPTIMISERS, compare_methods  # noqa: E402
from rltutorial.optimisers import xopt as rx  # noqa: E402
from rltutorial.optimisers.problem import BudgetExhausted, TuningProblem  # noqa: E402
from rltutorial.optimisers.search import nelder_mead  # noqa: E402


def test_vocs_are_the_tuned_magnets_and_the_log_objective():
    """The focusing task's VOCS: Q1, Q2, Q3 within ±72 1/m², minimise log_objective."""
    vocs = rx.make_vocs(TuningProblem(0, 5))
    assert vocs.variable_names == ["Q1", "Q2", "Q3"]
    np.testing.assert_array_equal(np.asarray(vocs.bounds), [[-72.0, 72.0]] * 3)
    assert vocs.objective_names == ["log_objective"]


def test_xopt_methods_are_registered():
    """compare_methods and tune find Xopt's three optimisers by name."""
    assert {"xopt-bo", "xopt-nelder-mead", "xopt-rcds"} <= set(OPTIMISERS)


def test_xopt_nelder_mead_without_adaptation_is_scipys():
    """Xopt's Nelder-Mead (adaptive=False) from the package's simplex measures exactly
    the settings SciPy's does: the adapter adds nothing of its own."""
    ours, theirs = TuningProblem(1, 15), TuningProblem(1, 15)
    rx.xopt_nelder_mead(ours, np.random.default_rng(0), adaptive=False)
    with pytest.raises(BudgetExhausted):
        nelder_mead(theirs, np.random.default_rng(0))
    np.testing.assert_array_equal(
        ours.history().to_numpy(), theirs.history().to_numpy()
    )


@pytest.mark.parametrize("method", ["xopt-rcds", "xopt-nelder-mead"])
def test_sequential_methods_spend_exactly_the_budget(method):
    """A run measures the budget and no more, from the initial magnets."""
    problem = TuningProblem(2, 12)
    OPTIMISERS[method](problem, np.random.default_rng(0))
    assert problem.simulations == 12
    assert problem.history()["best_objective"].iloc[-1] <= problem.initial_objective


def test_comparison_has_xopt_rows():
    """compare_methods puts Xopt's BO next to the package's on the same problems."""
    table = compare_methods(["bo", "xopt-bo"], n=1, budget=6, progress=False)
    assert list(table.index) == ["bo", "xopt-bo"]
    runs = table.attrs["runs"]
    assert (runs.groupby("method")["step"].max() == 6).all()
    first = runs[runs["step"] == 0].set_index("method")["objective"]
    assert first["bo"] == first["xopt-bo"]


def test_missing_xopt_names_the_install(monkeypatch):
    """Without xopt the error says how to install it."""
    monkeypatch.setitem(sys.modules, "xopt", None)
    with pytest.raises(ImportError, match="rltutorial\\[machine\\]"):
        rx.make_vocs(TuningProblem(0, 5))
