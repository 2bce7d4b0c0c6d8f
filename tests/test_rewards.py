"""Reward modes against values computed by hand, alone and along a scripted episode."""

import numpy as np
import pytest
from scripted_backend import ScriptedBackend

from rltutorial.envs import AresEA
from rltutorial.envs.ranges import SCREEN_HALF_SIZE
from rltutorial.rewards import (
    OBJECTIVE_WEIGHTS,
    REWARD_MODES,
    RewardState,
    register_reward,
)

# Two-step episode, focusing objective, target = smallest spot (all zeros):
# reset: sigmas 400 µm + 200 µm -> obj0 = 600 µm
# step 1: 300 µm + 100 µm -> obj1 = 400 µm;  step 2: 150 µm + 150 µm -> obj2 = 300 µm
BEAMS = [[1e-4, 4e-4, -1e-4, 2e-4], [5e-5, 3e-4, 0.0, 1e-4], [0.0, 1.5e-4, 0.0, 1.5e-4]]
EXPECTED = {
    "negative_objective": [-400 / 600, -300 / 600],
    "objective_improvement": [(600 - 400) / 600, (400 - 300) / 600],
    "log_improvement": [np.log(600 / 400), np.log(600 / 300)],
    "log_step_improvement": [np.log(600 / 400), np.log(400 / 300)],
    "sum_of_pixels": [-1.0, -1.0],  # small centred beams lie wholly on the screen
}


def _episode(reward_mode, time_reward=0.0, objective="focus"):
    env = AresEA(
        ScriptedBackend(BEAMS),
        reward_mode=reward_mode,
        objective=objective,
        target_beam_mode="constant",
        target_beam_values=np.zeros(4),
        time_reward=time_reward,
    )
    env.reset(seed=0)
    return [env.step(np.zeros(5))[1] for _ in range(2)]


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_reward_modes_on_scripted_episode(mode):
    """Each built-in mode gives the hand-computed rewards of the two-step episode."""
    np.testing.assert_allclose(_episode(mode), EXPECTED[mode], rtol=1e-9)


def test_time_reward_is_added_every_step():
    """time_reward = -1 shifts every step's reward by exactly -1."""
    np.testing.assert_allclose(
        _episode("objective_improvement", time_reward=-1.0),
        np.array(EXPECTED["objective_improvement"]) - 1,
    )


def test_full_objective_counts_positions():
    """With objective='full' the centroid errors count: obj0 = 100+400+100+200 = 800 µm."""
    rewards = _episode("negative_objective", objective="full")
    np.testing.assert_allclose(
        rewards, [-(50 + 300 + 0 + 100) / 800, -(150 + 150) / 800]
    )


def test_sum_of_pixels_half_beam_off_screen():
    """A beam centred on the screen's right edge puts half its charge on the screen: reward -0.5."""
    beam = np.array([SCREEN_HALF_SIZE[0], 1e-5, 0.0, 1e-5])
    state = RewardState(
        beam, beam, beam, np.zeros(4), OBJECTIVE_WEIGHTS["focus"], pixel_sum=0.5
    )
    assert REWARD_MODES["sum_of_pixels"](state) == -0.5
    env = AresEA(ScriptedBackend([beam, beam]), reward_mode="sum_of_pixels")
    env.reset(seed=0)
    assert env.step(np.zeros(5))[1] == pytest.approx(-0.5, abs=1e-9)


def test_rewards_broadcast_over_batches():
    """Reward functions accept a leading batch axis (used by the batched environment)."""
    current = np.array([BEAMS[1], BEAMS[2]])
    state = RewardState(
        current,
        np.array([BEAMS[0], BEAMS[1]]),
        np.array([BEAMS[0]] * 2),
        np.zeros((2, 4)),
        OBJECTIVE_WEIGHTS["focus"],
    )
    np.testing.assert_allclose(
        REWARD_MODES["objective_improvement"](state), EXPECTED["objective_improvement"]
    )


def test_register_reward_and_use_it():
    """A user-registered mode is usable by name in the environment."""
    register_reward("test_constant_two", lambda state: 2.0, overwrite=True)
    try:
        assert _episode("test_constant_two") == [2.0, 2.0]
    finally:
        REWARD_MODES.pop("test_constant_two")


def test_register_reward_rejects_bad_input():
    """Built-in names cannot be replaced; non-callables are refused."""
    with pytest.raises(ValueError, match="already exists"):
        register_reward("negative_objective", lambda s: 0.0, overwrite=True)
    with pytest.raises(TypeError, match="callable"):
        register_reward("not_a_function", 3.0)


def test_unknown_reward_mode_lists_valid_ones():
    """An unknown reward mode names the valid modes and suggests the closest."""
    with pytest.raises(ValueError, match="objective_improvement.*Valid choices"):
        AresEA(ScriptedBackend(BEAMS), reward_mode="objective_improvment")
