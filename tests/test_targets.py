"""Reachable targets: the screen beam of random magnet settings, kept on the screen."""

import numpy as np
import pytest
from scripted_backend import ScriptedBackend

from rltutorial import make_env
from rltutorial.config import DEFAULT_CONFIG
from rltutorial.envs import AresEA, AresEACheetah
from rltutorial.envs.cheetah import simulate_screen_beam
from rltutorial.envs.ranges import SCREEN_HALF_SIZE, TARGET_HIGH
from rltutorial.envs.targets import pick_reachable
from rltutorial.make import make_batched_env

FULL_TASK = {
    **DEFAULT_CONFIG,
    "objective": "full",
    "filter_action": [0, 1, 2, 3, 4],
    "filter_observation": ["beam", "magnets", "target"],
    "misalignment_mode": "random",
    "target_beam_mode": "reachable",
}


def _fits(beam):
    mu, sigma = np.abs(beam[[0, 2]]), beam[[1, 3]]
    return np.all(mu + sigma <= SCREEN_HALF_SIZE) and np.all(
        sigma <= TARGET_HIGH[[1, 3]]
    )


def test_reachable_target_is_produced_by_some_magnet_setting(monkeypatch):
    """The target is the chosen screen beam of the candidate settings drawn at reset."""
    from rltutorial.envs import ares_ea, targets

    drawn = []

    def record(rng):
        drawn.append(targets.draw_candidates(rng))
        return drawn[-1]

    monkeypatch.setattr(ares_ea, "draw_candidates", record)
    env = AresEACheetah(target_beam_mode="reachable", misalignment_mode="random")
    for seed in range(3):
        _, info = env.reset(seed=seed)
        beams = simulate_screen_beam(
            drawn[-1],
            np.tile(env.backend.incoming, (len(drawn[-1]), 1)),
            np.tile(env.backend.misalignments, (len(drawn[-1]), 1)),
        )
        assert any(np.allclose(info["target"], beam, rtol=1e-12) for beam in beams)
        np.testing.assert_allclose(info["target"], pick_reachable(beams), rtol=1e-12)
        assert np.all(np.abs(drawn[-1]) <= targets.CANDIDATE_LIMITS)


def test_pick_reachable_prefers_the_first_fit_then_the_closest_miss():
    """Hand-made candidates: first fitting beam wins; with no fit, the smallest overflow."""
    big = [9e-3, 1e-4, 0.0, 1e-4]  # centre off the screen
    fits_a = [1e-3, 1e-4, -1e-3, 2e-4]
    fits_b = [0.0, 5e-4, 0.0, 5e-4]
    np.testing.assert_array_equal(
        pick_reachable(np.array([big, fits_a, fits_b])), fits_a
    )
    near_miss = [SCREEN_HALF_SIZE[0], 1e-4, 0.0, 1e-4]  # 1 sigma over the edge
    np.testing.assert_array_equal(pick_reachable(np.array([big, near_miss])), near_miss)


def test_most_reachable_targets_lie_well_inside_the_screen():
    """Over 100 seeds nearly every target (±1 sigma) is on the screen and in the box."""
    venv = make_batched_env(FULL_TASK, 100, seed=0)
    venv.reset()
    fits = [_fits(target) for target in venv.targets]
    assert np.mean(fits) >= 0.95
    assert np.all(venv.targets[:, [1, 3]] >= 0)


def test_batched_and_single_envs_draw_the_same_reachable_targets():
    """Seeded per-env resets and a batched reset give identical targets and beams."""
    env = make_env(FULL_TASK)
    targets = np.array([env.reset(seed=s)[1]["target"] for s in range(6)])
    venv = make_batched_env(FULL_TASK, 6, seed=0)
    venv.reset()
    np.testing.assert_allclose(venv.targets, targets, rtol=1e-12)
    assert len(np.unique(targets[:, 1])) == 6  # a different target each episode


def test_reachable_targets_need_a_simulation():
    """A backend that cannot simulate other settings gives a clear error at reset."""
    env = AresEA(
        ScriptedBackend([[0.0, 1e-4, 0.0, 1e-4]]), target_beam_mode="reachable"
    )
    with pytest.raises(NotImplementedError, match="'reachable' is not available"):
        env.reset(seed=0)


def test_reachable_is_a_valid_target_mode_only():
    """The config accepts 'reachable' for the target, not for other samplers."""
    from rltutorial import validate_config

    assert validate_config(FULL_TASK)["target_beam_mode"] == "reachable"
    with pytest.raises(ValueError, match="incoming_mode"):
        validate_config({"incoming_mode": "reachable"})
