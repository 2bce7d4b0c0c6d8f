"""Evaluation: lock-step rollouts, summary metrics on hand-made episodes, optima."""

import numpy as np
import pandas as pd
import pytest

from rltutorial import DEFAULT_CONFIG
from rltutorial.agents import Agent
from rltutorial.envs import simulate_screen_beam
from rltutorial.envs.ranges import INCOMING_HIGH, INCOMING_LOW, MAGNET_LIMITS
from rltutorial.evaluation import evaluate_agent, rollout
from rltutorial.evaluation.episodes import step_frame
from rltutorial.evaluation.metrics import (
    describe_behaviour,
    resolution_floor,
    resolved_objective,
    summarize,
)
from rltutorial.evaluation.optimum import (
    find_optimum,
    focus_sigmas,
    has_optimum_table,
    optimum_table,
)
from rltutorial.rewards import OBJECTIVE_WEIGHTS

UM = 1e-6


def _episodes(finals: list[tuple[float, float]], steps: int = 3) -> pd.DataFrame:
    """Episodes 0, 1, … whose beams shrink linearly to the given final sigmas (m)."""
    frames = []
    for episode, (sigma_x, sigma_y) in enumerate(finals):
        for step in range(steps + 1):
            scale = 1 + (steps - step)  # 4×, 3×, 2×, 1× the final size
            beam = np.array([[0.0, scale * sigma_x, 0.0, scale * sigma_y]])
            frames.append(
                step_frame(
                    np.array([episode]),
                    step,
                    beam,
                    np.zeros((1, 4)),
                    np.zeros((1, 5)),
                    np.array([0.25 if step else 0.0]),
                    np.array([step == steps]),
                    np.array([step == steps]),
                    OBJECTIVE_WEIGHTS["focus"],
                )
            )
    episodes = pd.concat(frames, ignore_index=True)
    episodes["return"] = episodes.groupby("episode")["reward"].cumsum()
    return episodes


def test_summarize_hand_computed_errors_and_success():
    """Final sigmas (10, 30) and (50, 10) µm: MAE 20 and 30 µm, RMSE 30 µm, 1 of 2 within 40 µm."""
    metrics = summarize(_episodes([(10 * UM, 30 * UM), (50 * UM, 10 * UM)]))
    assert metrics["mean_mae"] == pytest.approx(25 * UM)
    assert metrics["median_mae"] == pytest.approx(25 * UM)
    assert metrics["rmse"] == pytest.approx(30 * UM)
    assert metrics["success_rate"] == 0.5
    assert metrics["mean_steps"] == 3.0
    assert metrics["improved_rate"] == 1.0
    assert metrics["mean_return"] == pytest.approx(0.75)
    assert metrics["early_end_rate"] == 0.0  # both ended by the time limit
    assert np.isnan(metrics["near_optimal_rate"])
    assert np.isnan(metrics["median_resolution_ratio"])


def test_summarize_thresholds_are_arguments():
    """A 60 µm threshold makes both example episodes successful; negative ones are refused."""
    episodes = _episodes([(10 * UM, 30 * UM), (50 * UM, 10 * UM)])
    assert summarize(episodes, sigma_threshold=60 * UM)["success_rate"] == 1.0
    with pytest.raises(ValueError, match="sigma_threshold"):
        summarize(episodes, sigma_threshold=-1.0)


def test_summarize_optimality_against_given_optima():
    """Objectives 40 and 60 µm against optima 30 and 20 µm: ratios 1.33 and 3."""
    episodes = _episodes([(10 * UM, 30 * UM), (50 * UM, 10 * UM)])
    metrics = summarize(episodes, optima=pd.Series({0: 30 * UM, 1: 20 * UM}))
    assert metrics["near_optimal_rate"] == 0.5
    assert metrics["median_optimality_ratio"] == pytest.approx((4 / 3 + 3) / 2)


def test_resolution_floor_is_one_binned_pixel():
    """Binning 4: 4 × 3.3198 µm = 13.2792 µm wide, 4 × 2.4469 µm = 9.7876 µm high."""
    np.testing.assert_allclose(resolution_floor(), [13.2792 * UM, 9.7876 * UM])
    np.testing.assert_allclose(resolution_floor(1), [3.3198 * UM, 2.4469 * UM])
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="binning"):
            resolution_floor(bad)


def test_resolved_objective_floors_each_plane():
    """(10, 30) µm -> 13.2792 + 30; (12, 9) µm -> 13.2792 + 9.7876; (50, 10) unchanged."""
    values = resolved_objective(np.array([10, 12, 50]) * UM, np.array([30, 9, 10]) * UM)
    np.testing.assert_allclose(values, np.array([43.2792, 23.0668, 60.0]) * UM)


def test_summarize_resolution_aware_ratios_by_hand():
    """Finals (10, 30) and (12, 9) µm against optima (2, 3) and (3, 4) µm: raw ratios 8
    and 3; floored 43.2792 / 23.0668 = 1.87626 and 23.0668 / 23.0668 = 1."""
    episodes = _episodes([(10 * UM, 30 * UM), (12 * UM, 9 * UM)])
    optima = pd.DataFrame(
        {"sigma_x": [2 * UM, 3 * UM], "sigma_y": [3 * UM, 4 * UM]}, index=[0, 1]
    )
    optima["objective"] = optima["sigma_x"] + optima["sigma_y"]
    metrics = summarize(episodes, optima=optima)
    assert metrics["median_optimality_ratio"] == pytest.approx(5.5)
    assert metrics["near_optimal_rate"] == 0.0
    assert metrics["median_resolution_ratio"] == pytest.approx(
        (43.2792 / 23.0668 + 1) / 2
    )
    assert metrics["resolution_near_optimal_rate"] == 0.5
    note = describe_behaviour(metrics)
    assert "in simulation" in note and "50% at the screen's resolution" in note
    only_raw = summarize(episodes, optima=optima["objective"])
    assert only_raw["median_optimality_ratio"] == pytest.approx(5.5)
    assert np.isnan(only_raw["median_resolution_ratio"])


def test_summarize_include_position_judges_mu():
    """With include_position, a beam 100 µm off centre fails although it is small."""
    episodes = _episodes([(10 * UM, 10 * UM)])
    episodes["err_mu_x"] = 100 * UM
    assert summarize(episodes)["success_rate"] == 1.0
    assert summarize(episodes, include_position=True)["success_rate"] == 0.0


def test_describe_behaviour_reports_off_screen_and_blow_up():
    """The behaviour note names what the metrics show, in plain words."""
    metrics = summarize(_episodes([(10 * UM, 30 * UM)]))
    metrics.update(off_screen_rate=0.9, early_end_rate=0.9, mean_steps=8.2)
    metrics.update(median_initial_sigma=1e-4, median_final_sigma=5e-3)
    note = describe_behaviour(metrics)
    assert "off the screen in 90%" in note and "after 8.2 steps" in note
    assert "blows the beam up" in note and "5.0 mm" in note


def test_describe_behaviour_reports_fixed_settings():
    """Nearly equal final quadrupoles in every episode are reported as such."""
    metrics = summarize(_episodes([(10 * UM, 30 * UM), (50 * UM, 10 * UM)]))
    assert metrics["final_quadrupole_spread"] == 0.0  # the example never moves them
    assert "same quadrupole settings" in describe_behaviour(metrics)
    metrics["final_quadrupole_spread"] = 5.0
    assert "same quadrupole settings" not in describe_behaviour(metrics)


def test_rollout_matches_single_environment_episodes():
    """Lock-step batched episodes equal the same seeds run one by one in make_env."""
    agent = Agent.untrained(DEFAULT_CONFIG, seed=3)
    batched = rollout(agent.act, agent.config, n=3, seed=5)
    for seed in (5, 6, 7):
        single = agent.run_episode(seed=seed)
        rows = batched[batched["episode"] == seed].reset_index(drop=True)
        assert len(rows) == len(single) == 26
        for column in ("sigma_x", "mu_y", "Q1", "Q3", "reward", "return"):
            np.testing.assert_allclose(
                rows[column], single[column], rtol=1e-5, atol=1e-9
            )


def test_evaluate_agent_returns_metrics_episodes_and_plot():
    """evaluate_agent gives metrics, one row per step and a Figure; seeds 0..n-1 are used."""
    evaluation = evaluate_agent(Agent.untrained(), n=4, seed=0)
    assert set(evaluation.episodes["episode"]) == {0, 1, 2, 3}
    assert evaluation.metrics["n_episodes"] == 4
    assert 0.0 <= evaluation.metrics["success_rate"] <= 1.0
    assert np.isfinite(evaluation.metrics["median_optimality_ratio"])
    assert np.isfinite(evaluation.metrics["median_resolution_ratio"])
    assert evaluation.plot().axes


def test_evaluate_agent_judges_positions_when_the_task_asks_for_them():
    """By default positions count for a full-task agent and not for a focusing agent;
    an explicit include_position wins."""
    full = {**DEFAULT_CONFIG, "objective": "full", "filter_action": [0, 1, 2, 3, 4]}
    full_agent = Agent.untrained(full, seed=1)
    assert evaluate_agent(full_agent, n=2).settings["include_position"] is True
    focus_agent = Agent.untrained(DEFAULT_CONFIG, seed=1)
    assert evaluate_agent(focus_agent, n=2).settings["include_position"] is False
    forced = evaluate_agent(full_agent, n=2, include_position=False)
    assert forced.settings["include_position"] is False
    judged = evaluate_agent(full_agent, n=2).metrics["median_mae"]
    assert judged != forced.metrics["median_mae"]  # mu errors enter the mean


def test_closed_form_sigmas_equal_cheetah():
    """The closed-form focusing model equals Cheetah for random quadrupoles and beams."""
    rng = np.random.default_rng(0)
    magnets = rng.uniform(-MAGNET_LIMITS, MAGNET_LIMITS, (200, 5))
    incoming = rng.uniform(INCOMING_LOW, INCOMING_HIGH, (200, 11))
    expected = simulate_screen_beam(magnets, incoming)[:, [1, 3]]
    np.testing.assert_allclose(
        focus_sigmas(magnets[:, [0, 1, 3]], incoming), expected, rtol=1e-10
    )


def test_optimum_table_matches_environment_resets():
    """Table rows hold the incoming beam of reset(seed=s) and a focus Cheetah confirms."""
    from rltutorial import make_env

    table = optimum_table()
    assert list(table.index[:200]) == list(range(200))
    env = make_env(DEFAULT_CONFIG)
    for seed in (0, 7, 199):
        env.reset(seed=seed)
        incoming = env.unwrapped.backend.get_incoming()
        row = table.loc[seed]
        np.testing.assert_allclose(
            row[[c for c in table.columns if c.startswith("incoming_")]], incoming
        )
        magnets = np.array([row["q1"], row["q2"], 0.0, row["q3"], 0.0])
        beam = simulate_screen_beam(magnets, incoming)
        assert beam[1] + beam[3] == pytest.approx(row["objective"], rel=1e-6)


def test_find_optimum_beats_a_grid():
    """The optimum search finds at least as small a beam as a coarse grid over Q1–Q3."""
    incoming = np.array([1e8, 0, 0, 0, 0, 2e-4, 2e-5, 1e-4, 3e-5, 1e-5, 1e-3])
    optimum = find_optimum(incoming, n_random=512, n_descents=64, descent_steps=50)
    grid = np.stack(np.meshgrid(*[np.linspace(-72, 72, 13)] * 3), -1).reshape(-1, 3)
    assert optimum.objective <= focus_sigmas(grid, incoming).sum(-1).min()


def test_optimum_applies_only_to_the_focusing_problem():
    """Optima apply when only reward/action settings differ, not with misalignments."""
    assert has_optimum_table({"reward_mode": "sum_of_pixels", "action_mode": "direct"})
    assert not has_optimum_table({"misalignment_mode": "random"})
    assert not has_optimum_table({"target_beam_values": [0.0, 1e-4, 0.0, 1e-4]})
