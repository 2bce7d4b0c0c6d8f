"""Classical optimisers and agents tuning the same seeded ARES-EA problems."""

import numpy as np
import pandas as pd
import pytest

from rltutorial import DEFAULT_CONFIG, load_agent, make_env
from rltutorial.agents.zoo import REFERENCE_AGENT
from rltutorial.evaluation import rollout
from rltutorial.evaluation.optimum import optimum_table
from rltutorial.optimisers import (
    COMPARISON_COLUMNS,
    OPTIMISERS,
    BudgetExhausted,
    TuningProblem,
    compare_methods,
    register_optimiser,
    tune,
)
from rltutorial.optimisers.search import initial_simplex

UM = 1e-6
BEAM = ["mu_x", "sigma_x", "mu_y", "sigma_y"]


@pytest.fixture(scope="module")
def reference():
    """The zoo's reference agent, loaded once."""
    return load_agent("reference")


@pytest.fixture
def optimiser_name():
    """A name for a test optimiser, removed from the registry afterwards."""
    name = "test-optimiser"
    yield name
    OPTIMISERS.pop(name, None)


def test_problem_starts_where_agents_start(reference):
    """Seed s: the problem's initial beam, magnets and target equal make_env's reset,
    the batched rollout's episode s and the agent's own episode s."""
    seeds = [4, 5, 6]
    episodes = rollout(
        lambda obs: np.zeros((len(obs), 3)), DEFAULT_CONFIG, n=3, seed=4, max_steps=1
    )
    starts = episodes[episodes["step"] == 0].set_index("episode")
    for seed in seeds:
        problem = TuningProblem(seed, budget=1)
        _, info = make_env(DEFAULT_CONFIG).reset(seed=seed)
        np.testing.assert_array_equal(problem.initial_beam, info["beam"])
        np.testing.assert_array_equal(problem.initial_magnets, info["magnets"])
        np.testing.assert_array_equal(problem.target, info["target"])
        np.testing.assert_array_equal(
            starts.loc[seed, BEAM].to_numpy(float), info["beam"]
        )
    episode = reference.run_episode(seed=6, max_steps=1)
    np.testing.assert_array_equal(
        episode.loc[0, BEAM].to_numpy(float), TuningProblem(6, 1).initial_beam
    )


def test_every_method_starts_from_the_same_state(reference):
    """Step 0 of each method's history is the same reset state."""
    starts = [
        tune(method, seed=11, budget=3).history.loc[0, ["Q1", "Q2", "Q3", *BEAM]]
        for method in ("random", "nelder-mead", reference)
    ]
    for start in starts[1:]:
        pd.testing.assert_series_equal(start, starts[0])


@pytest.mark.parametrize("method", ["random", "nelder-mead"])
def test_budget_is_honoured_exactly(method):
    """A budget of 7 gives the reset plus exactly 7 simulations."""
    result = tune(method, seed=1, budget=7)
    assert len(result.history) == 8
    assert result.simulations == 7
    assert result.history["step"].tolist() == list(range(8))


def test_problem_refuses_simulations_beyond_the_budget():
    """The third evaluation of a budget of 2 raises; the initial settings stay free."""
    problem = TuningProblem(0, budget=2)
    problem.evaluate(np.array([10.0, -10.0, 5.0]))
    problem.evaluate(np.array([20.0, -10.0, 5.0]))
    assert problem.evaluate(problem.x0) == pytest.approx(problem.initial_objective)
    with pytest.raises(BudgetExhausted):
        problem.evaluate(np.array([30.0, -10.0, 5.0]))
    assert problem.remaining == 0


def test_nelder_mead_improves_the_objective():
    """Nelder-Mead lowers sigma_x + sigma_y below its start within 20 simulations."""
    result = tune("nelder-mead", seed=0, budget=20)
    first = result.history["objective"].iloc[0]
    assert result.final["objective"] < 0.8 * first
    assert result.final_rule == "best"
    assert result.final["objective"] == result.history["objective"].min()


def test_bayesian_optimisation_improves_the_objective():
    """BO (4 random settings, then 4 GP-guided ones) ends below its start."""
    result = tune("bo", seed=0, budget=8)
    assert len(result.history) == 9
    assert result.final["objective"] < result.history["objective"].iloc[0]


def test_optimisers_move_only_the_filtered_magnets():
    """Default filter [0, 1, 3]: correctors stay at 0; filter [0]: only Q1 moves."""
    history = tune("random", seed=2, budget=5).history
    assert (history[["CV", "CH"]] == 0).all().all()
    assert history["Q1"].nunique() == 6
    config = {**DEFAULT_CONFIG, "filter_action": [0]}
    history = tune("random", seed=2, budget=5, config=config).history
    assert (history[["Q2", "CV", "Q3", "CH"]] == 0).all().all()
    assert history["Q1"].abs().max() <= 72.0


def test_agent_name_runs_its_episode(reference):
    """The alias "reference" runs the agent's deterministic episode; it ends at its last step."""
    result = tune("reference", seed=2, budget=5)
    episode = reference.run_episode(seed=2, max_steps=5)
    assert result.method == reference.name
    assert result.final_rule == "last"
    assert int(result.final["step"]) == 5
    np.testing.assert_allclose(
        result.history[BEAM].to_numpy(), episode[BEAM].to_numpy(), rtol=1e-12
    )


def test_agent_runs_beyond_its_training_time_limit(reference):
    """A budget larger than the agent's time limit (25) is used in full."""
    result = tune(reference, seed=3, budget=30)
    assert result.simulations == 30


def test_success_and_steps_to_threshold(optimiser_name):
    """Jumping to the tabulated optimum (≈ 12 µm) at step 1 succeeds there."""
    best = optimum_table().loc[0, ["q1", "q2", "q3"]].to_numpy(float)

    def jump(problem, rng):
        problem.evaluate(best)
        while problem.remaining:
            problem.evaluate(problem.x0 + 1.0)

    register_optimiser(optimiser_name, jump)
    result = tune(optimiser_name, seed=0, budget=3)
    assert result.steps_to_threshold == 1.0
    assert result.final["step"] == 1
    assert result.final["success"]
    assert result.final["objective"] < 20 * UM
    assert not result.history["success"].iloc[0]


def test_score_is_the_metrics_definition():
    """MAE of sigma_x, sigma_y; success only when each is within 40 µm."""
    problem = TuningProblem(0, budget=1)
    value, mae, success = problem.score(np.array([1e-3, 30 * UM, 0.0, 50 * UM]))
    assert value == pytest.approx(80 * UM)
    assert mae == pytest.approx(40 * UM)
    assert not success
    assert problem.score(np.array([1e-3, 30 * UM, 0.0, 39 * UM]))[2]


def test_full_task_problems_judge_positions_by_default():
    """With objective 'full' the MAE and success count mu_x and mu_y too, unless
    include_position says otherwise; the focusing task judges sigmas only."""
    full = {**DEFAULT_CONFIG, "objective": "full", "filter_action": [0, 1, 2, 3, 4]}
    beam = np.array([100 * UM, 30 * UM, 0.0, 30 * UM])
    judged = TuningProblem(0, budget=1, config=full)
    assert judged.include_position
    mae = judged.score(beam)[1]
    assert mae == pytest.approx(np.abs(beam - judged.target).mean())
    assert not TuningProblem(
        0, budget=1, config=full, include_position=False
    ).include_position
    assert not TuningProblem(0, budget=1).include_position


def test_initial_simplex_stays_in_bounds():
    """Edges point up, or down at the upper bound."""
    simplex = initial_simplex(
        np.array([0.0, 70.0]), np.array([20.0, 20.0]), -72.0, 72.0
    )
    np.testing.assert_allclose(simplex, [[0.0, 70.0], [20.0, 70.0], [0.0, 50.0]])


def test_unknown_method_lists_the_choices():
    """The error names optimisers and agents, with a close match."""
    with pytest.raises(ValueError, match="nelder_mead") as error:
        tune("nelder_mead", seed=0, budget=3)
    message = str(error.value)
    for name in ("'random'", "'nelder-mead'", "'bo'", "'reference'", "Veronica Mosley"):
        assert name in message
    assert "Did you mean 'nelder-mead'" in message


@pytest.mark.parametrize("budget", [0, -3, 2.5, True, "10"])
def test_bad_budget_is_rejected(budget):
    """Budgets must be integers >= 1."""
    with pytest.raises(ValueError, match="budget must be an integer >= 1"):
        tune("random", seed=0, budget=budget)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": 1.5}, "n must be an integer >= 1"),
        ({"budget": 0}, "budget must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"methods": []}, "non-empty list"),
        ({"methods": "random"}, "non-empty list"),
        ({"methods": ["reference", REFERENCE_AGENT]}, "same method twice"),
        ({"threshold": -1.0}, "threshold must be a finite number"),
    ],
)
def test_bad_comparison_arguments_are_rejected(kwargs, message):
    """Each invalid argument raises a ValueError naming it."""
    arguments = {"methods": ["random"], "n": 1, "budget": 1, "progress": False}
    with pytest.raises(ValueError, match=message):
        compare_methods(**{**arguments, **kwargs})


def test_register_optimiser_refuses_taken_names():
    """Built-in names are protected unless overwrite=True."""
    with pytest.raises(ValueError, match="exists"):
        register_optimiser("random", lambda problem, rng: None)
    with pytest.raises(ValueError, match="callable"):
        register_optimiser("new", "not a function")


def test_compare_methods_one_row_per_method():
    """Same two problems for both methods; documented columns; per-step runs kept."""
    table = compare_methods(["random", "nelder-mead"], n=2, budget=4, progress=False)
    assert table.index.tolist() == ["random", "nelder-mead"]
    assert table.columns.tolist() == list(COMPARISON_COLUMNS)
    assert (table["n"] == 2).all() and (table["budget"] == 4).all()
    assert table["final_rule"].tolist() == ["best", "best"]
    assert ((table["success_rate"] >= 0) & (table["success_rate"] <= 1)).all()
    runs, problems = table.attrs["runs"], table.attrs["problems"]
    assert len(runs) == 2 * 2 * 5 and len(problems) == 4
    starts = runs[runs["step"] == 0].groupby("seed")["objective"].nunique()
    assert (starts == 1).all()
    random_maes = problems.loc[problems["method"] == "random", "final_mae"]
    assert table.loc["random", "median_final_mae"] == pytest.approx(
        random_maes.median()
    )
    assert np.isfinite(table["median_optimality_ratio"]).all()
    assert (table["median_optimality_ratio"] >= 1).all()


def test_history_tracks_the_best_step_so_far():
    """best_* columns follow the lowest objective measured up to each step."""
    history = tune("random", seed=5, budget=12).history
    running = history["objective"].cummin()
    np.testing.assert_array_equal(history["best_objective"], running)
    best = history["best_step"].to_numpy()
    np.testing.assert_array_equal(history["objective"].to_numpy()[best], running)
    assert np.all(np.diff(best) >= 0)


def test_evaluate_rejects_malformed_settings():
    """Settings of the wrong length or with NaN raise, naming the tuned magnets."""
    problem = TuningProblem(0, budget=2)
    with pytest.raises(ValueError, match=r"3 finite numbers for \['Q1', 'Q2', 'Q3'\]"):
        problem.evaluate(np.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        problem.evaluate(np.array([0.0, np.nan, 1.0]))
    assert problem.simulations == 0


class _OperatorView:
    """What an operator has of a problem: bounds, target, readings and the knobs.

    Anything else (the hidden incoming beam in ``start``, the simulator in ``env``)
    raises AttributeError.
    """

    ALLOWED = {"indices", "labels", "low", "high", "target", "initial_magnets"}
    ALLOWED |= {"initial_beam", "score", "measure", "evaluate", "x0", "remaining"}

    def __init__(self, problem):
        self._problem = problem

    def __getattr__(self, name):
        if name not in self.ALLOWED:
            raise AttributeError(f"an operator does not know problem.{name}")
        return getattr(self._problem, name)


@pytest.mark.parametrize(
    ("method", "most_steps"),
    [
        ("always-a+", 1),
        ("probe-a", 3),
        ("probe-infer-set", 2),
        ("probe-infer-refine", 3),
    ],
)
def test_physics_baselines_use_few_steps_and_no_hidden_beam(method, most_steps):
    """Each baseline stops after its few steps, using only the operator's view."""
    for seed in (0, 7):
        problem = TuningProblem(seed, budget=50)
        OPTIMISERS[method](_OperatorView(problem), np.random.default_rng(0))
        assert 1 <= problem.simulations <= most_steps


def test_always_a_plus_sets_the_same_setting_for_every_beam():
    """ "always-a+" ends at A+ (Q1 = 72, Q2 ≈ −24.90, Q3 ≈ 24.20) whatever the seed."""
    from rltutorial.envs.focal import focal_settings

    for seed in (1, 2):
        final = tune("always-a+", seed=seed, budget=5).final
        np.testing.assert_allclose(
            final[["Q1", "Q2", "Q3"]].to_numpy(float), focal_settings()["A+"]
        )


def test_probe_infer_set_reaches_the_tabulated_optimum():
    """Reset reading + one probe: within 2 % of the optimum on seeds 0–5, including
    seed 7 whose optimum lies on branch B; refining reaches it to 0.1 %."""
    table = optimum_table()
    for seed in (0, 1, 2, 3, 4, 5, 7):
        set_only = tune("probe-infer-set", seed=seed, budget=5).final["objective"]
        refined = tune("probe-infer-refine", seed=seed, budget=5).final["objective"]
        optimum = table.loc[seed, "objective"]
        assert set_only <= 1.02 * optimum
        assert refined <= 1.001 * optimum


def test_probe_a_keeps_the_better_of_a_plus_and_a_minus():
    """The final objective is the smaller of the readings at A+ and A−."""
    history = tune("probe-a", seed=3, budget=5).history
    probes = history["objective"].iloc[1:3]
    assert history["objective"].iloc[-1] == pytest.approx(probes.min())


def test_physics_baselines_need_the_quadrupoles():
    """A problem that tunes only the correctors is refused, naming what it tunes."""
    config = {**DEFAULT_CONFIG, "filter_action": [2, 4]}
    with pytest.raises(ValueError, match=r"only \['CV', 'CH'\]"):
        tune("probe-infer-set", seed=0, budget=3, config=config)


def test_compare_methods_reports_resolution_aware_ratios():
    """The comparison has raw and floored ratios and the simulations used; on seeds
    0–2 both baselines end within 1.5× of the optimum at the screen's resolution."""
    table = compare_methods(["always-a+", "probe-a"], n=3, budget=5, progress=False)
    assert np.isfinite(table["median_optimality_ratio"]).all()
    assert (table["resolution_near_optimal_rate"] == 1.0).all()
    assert (table["median_resolution_ratio"] <= table["median_optimality_ratio"]).all()
    assert table.loc["always-a+", "mean_simulations"] == 1.0
