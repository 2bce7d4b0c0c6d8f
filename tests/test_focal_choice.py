"""The hybrid action mode ``focal_choice``: jumps to the focal-plane settings in the first
three steps, "stay", fine corrections, and the single and batched environments alike.
"""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from side_by_side import paired_vec_envs, step_pairs

from rltutorial.config import validate_config
from rltutorial.envs import AresEACheetah, simulate_screen_beam
from rltutorial.envs.actions import (
    FOCAL_CHOICE_STEPS,
    FOCAL_CHOICES,
    FOCAL_FINE_LIMITS,
    apply_action,
    get_action_mode,
)
from rltutorial.envs.focal import focal_settings
from rltutorial.make import make_env

MODE = get_action_mode("focal_choice")
#: The agent's view used in training: beam, magnets and step number, two frames.
CONFIG = {
    "action_mode": "focal_choice",
    "filter_observation": ["beam", "magnets", "step"],
    "frame_stack": 2,
    "time_limit": 8,
}


def _choose(name: str, fine: np.ndarray | None = None) -> np.ndarray:
    """A raw action (10,): fine changes (5,) and a score of 1 for ``name`` only."""
    action = np.zeros(MODE.size)
    action[:5] = 0.0 if fine is None else fine
    action[5 + FOCAL_CHOICES.index(name)] = 1.0
    return action


def _bare_env() -> AresEACheetah:
    return AresEACheetah(action_mode="focal_choice")


def test_jump_targets_are_the_focal_settings():
    """Choosing A+, A−, B+ or B− at the first step sets Q1, Q2, Q3 to exactly
    focal_settings() and leaves the correctors where they were."""
    start = np.array([1.0, -2.0, 1e-4, 3.0, -2e-4])
    for name, setting in focal_settings().items():
        env = _bare_env()
        env.reset(seed=0, options={"magnets": start})
        _, _, _, _, info = env.step(_choose(name))
        np.testing.assert_array_equal(info["magnets"][[0, 1, 3]], setting)
        np.testing.assert_array_equal(info["magnets"][[2, 4]], start[[2, 4]])


def test_jump_targets_put_the_screen_in_the_focal_plane_in_cheetah():
    """Cheetah's own tracking at every jump target: the spot does not change when the
    incoming sizes grow fivefold (R11 = R33 = 0), only the divergences count."""
    incoming = np.array(
        [1.2e8, 1e-4, -2e-5, -3e-4, 1e-5, 2e-4, 3e-5, 1e-4, 1e-5, 1e-5, 5e-4]
    )
    wide = incoming.copy()
    wide[[5, 7]] *= 5.0
    for name in FOCAL_CHOICES[:-1]:
        magnets, _ = apply_action(MODE, np.zeros(5), _choose(name), step=0)
        narrow_beam = simulate_screen_beam(magnets, incoming, tracker="cheetah")
        wide_beam = simulate_screen_beam(magnets, wide, tracker="cheetah")
        np.testing.assert_allclose(wide_beam[[1, 3]], narrow_beam[[1, 3]], rtol=1e-6)
        zero = simulate_screen_beam(np.zeros(5), wide, tracker="cheetah")
        assert np.all(narrow_beam[[1, 3]] < zero[[1, 3]]), name


def test_choices_act_only_in_the_first_three_steps():
    """A choice at steps 0, 1, 2 jumps (the last one wins); from step 3 on it is
    ignored and the magnets stay."""
    env = _bare_env()
    env.reset(seed=1)
    order = ["A+", "B-", "A-", "B+", "A+", "B+"]
    for step, name in enumerate(order):
        _, _, _, _, info = env.step(_choose(name))
        expected = focal_settings()[order[min(step, FOCAL_CHOICE_STEPS - 1)]]
        np.testing.assert_array_equal(info["magnets"][[0, 1, 3]], expected)
    assert FOCAL_CHOICE_STEPS == 3


def test_stay_keeps_the_magnets():
    """With "stay" scored highest the magnets keep their setting in the choice window;
    a jump after "stay" still works while the window is open."""
    start = np.array([5.0, -5.0, 0.0, 5.0, 0.0])
    env = _bare_env()
    env.reset(seed=2, options={"magnets": start})
    _, _, _, _, info = env.step(_choose("stay"))
    np.testing.assert_array_equal(info["magnets"], start)
    _, _, _, _, info = env.step(_choose("B+"))
    np.testing.assert_array_equal(info["magnets"][[0, 1, 3]], focal_settings()["B+"])


def test_fine_corrections_grow_with_the_cube_up_to_their_limit():
    """The fine change is limit · (a / limit)³: 0.3 1/m² at most, 1/8 of it at half
    the action; larger actions are clipped (and flagged) at the limit."""
    assert FOCAL_FINE_LIMITS[0] == pytest.approx(0.3)
    start = np.array([10.0, -10.0, 0.0, 10.0, 0.0])
    for share, change in ((1.0, 0.3), (0.5, 0.0375), (-0.5, -0.0375), (2.0, 0.3)):
        fine = share * FOCAL_FINE_LIMITS
        magnets, clipped = apply_action(MODE, start, _choose("stay", fine), step=5)
        np.testing.assert_allclose(
            magnets - start, change / 0.3 * FOCAL_FINE_LIMITS, rtol=1e-12
        )
        assert bool(clipped) == (share > 1.0)


def test_agent_actions_reach_the_mode_through_the_wrappers():
    """Through make_env the agent acts on 3 fine changes and 5 scores in [−3, 3]; its
    largest fine action moves Q2 by 0.3 1/m² after the jump, and it sees the step."""
    env = make_env(CONFIG)
    assert env.action_space.shape == (8,)
    observation, _ = env.reset(seed=3)
    assert observation[-1] == 0.0  # the step number at reset
    action = np.zeros(8, np.float32)
    action[1] = 3.0  # Q2 fine, largest
    action[3 + FOCAL_CHOICES.index("A-")] = 3.0
    observation, _, _, _, info = env.step(action)
    np.testing.assert_allclose(
        info["magnets"][[0, 1, 3]], focal_settings()["A-"] + [0.0, 0.3, 0.0]
    )
    assert observation[-1] == 1.0


def test_batched_env_equals_single_envs():
    """Same seeds and random actions give equal observations, rewards, dones and
    magnets in the batched env and a DummyVecEnv of make_env copies over 20 steps
    (two episodes each: the choice window opens again after the reset)."""
    batched, classic = paired_vec_envs(CONFIG, 3, seed=7)
    np.testing.assert_array_equal(batched.reset(), classic.reset())
    for (obs_b, rew_b, done_b, info_b), (obs_c, rew_c, done_c, info_c) in step_pairs(
        batched, classic, steps=20, action_seed=4
    ):
        np.testing.assert_allclose(obs_b, obs_c, rtol=1e-6)
        np.testing.assert_allclose(rew_b, rew_c, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(done_b, done_c)
        for b, c in zip(info_b, info_c, strict=True):
            np.testing.assert_allclose(b["magnets"], c["magnets"], rtol=1e-12)


def test_wrong_action_size_and_unknown_mode_are_refused():
    """The bare env passes gymnasium's check_env and refuses a 5-value action for
    focal_choice, naming the size; an unknown action mode names the valid ones,
    focal_choice among them."""
    env = _bare_env()
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="10 values"):
        env.step(np.zeros(5))
    with pytest.raises(ValueError, match="focal_choice"):
        validate_config({"action_mode": "focal_choise"})


def test_action_mode_names_list_the_registry():
    """The ActionModeName literal the environment is typed with names exactly the
    registered action modes, focal_choice among them."""
    from typing import get_args

    from rltutorial.envs.actions import ACTION_MODES, ActionModeName

    assert set(get_args(ActionModeName)) == set(ACTION_MODES)
    assert "focal_choice" in ACTION_MODES
