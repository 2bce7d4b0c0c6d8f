"""The batched ARES-EA VecEnv against the per-environment DummyVecEnv, step by step."""

import numpy as np
import pytest
from side_by_side import paired_vec_envs, step_pairs
from stable_baselines3.common.vec_env import VecNormalize

from rltutorial.envs.screen import fraction_on_screen, screen_image
from rltutorial.make import make_vec_env

CONFIGS = {
    "workshop": {},
    "pixels_abort_time": {
        "reward_mode": "sum_of_pixels",
        "abort_if_off_screen": True,
        "time_reward": -1.0,
    },
    "direct_stack_full": {
        "action_mode": "direct",
        "frame_stack": 2,
        "objective": "full",
        "filter_observation": ["beam", "target", "incoming", "misalignments"],
        "misalignment_mode": "random",
        "target_beam_mode": "random",
    },
    "thresholds": {
        "target_sigma_x_threshold": 2e-4,
        "target_sigma_y_threshold": 2e-4,
        "threshold_hold": 2,
        "reward_mode": "negative_objective",
        "magnet_init_mode": "random",
    },
    "unidirectional": {
        "action_mode": "direct_unidirectional_quads",
        "filter_action": [0, 1, 2, 3, 4],
        "rescale_action": None,
    },
}
INFO_KEYS = (
    "err_mu_x",
    "err_sigma_x",
    "err_mu_y",
    "err_sigma_y",
    "mae_focus",
    "is_success",
    "on_screen",
    "time_step",
)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_batched_equals_per_env(name):
    """Same seeds and actions give equal observations, rewards, dones and infos for 30 steps."""
    config = {"time_limit": 12, **CONFIGS[name]}
    batched, classic = paired_vec_envs(config, 3, seed=11)
    np.testing.assert_array_equal(batched.reset(), classic.reset())
    finished = 0
    for (ob, rb, db, ib), (oc, rc, dc, ic) in step_pairs(
        batched, classic, steps=30, action_seed=5
    ):
        np.testing.assert_allclose(ob, oc, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(rb, rc, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(db, dc)
        for info_b, info_c in zip(ib, ic, strict=True):
            for key in INFO_KEYS:
                assert info_b[key] == pytest.approx(
                    info_c[key], rel=1e-6, abs=1e-12
                ), key
            if "terminal_observation" in info_c:
                finished += 1
                np.testing.assert_allclose(
                    info_b["terminal_observation"],
                    info_c["terminal_observation"],
                    rtol=1e-6,
                    atol=1e-12,
                )
                assert info_b["TimeLimit.truncated"] == info_c["TimeLimit.truncated"]
                assert info_b["episode"]["r"] == pytest.approx(
                    info_c["episode"]["r"], rel=1e-5, abs=1e-6
                )
    assert finished > 0


def test_different_seeds_give_different_problems():
    """Each sub-environment draws its own incoming beam; seeds reproduce them."""
    first = make_vec_env({}, 4, seed=0).reset()
    again = make_vec_env({}, 4, seed=0).reset()
    other = make_vec_env({}, 4, seed=100).reset()
    np.testing.assert_array_equal(first, again)
    assert len({tuple(row) for row in first}) == 4
    assert not np.allclose(first, other)


def test_works_under_vec_normalize():
    """VecNormalize wraps the batched env and normalises observations."""
    venv = VecNormalize(make_vec_env({}, 8, seed=0))
    venv.reset()
    for _ in range(30):
        observations, *_ = venv.step(np.zeros((8, 3), np.float32))
    assert np.abs(observations).max() <= 10.0


def test_render_draws_chosen_env():
    """render() returns the RGB picture of env render_index."""
    venv = make_vec_env({}, 2, seed=0)
    venv.reset()
    venv.venv.render_index = 1
    image = venv.render()
    assert image.shape[2] == 3 and image.dtype == np.uint8


def test_bad_n_envs_and_nan_actions():
    """A non-positive n_envs and NaN actions raise ValueError."""
    with pytest.raises(ValueError, match="n_envs"):
        make_vec_env({}, 0)
    venv = make_vec_env({}, 2, seed=0)
    venv.reset()
    with pytest.raises(ValueError, match="NaN"):
        venv.step(np.full((2, 3), np.nan, np.float32))


@pytest.mark.parametrize(
    "actions,match",
    [
        (np.zeros(6, np.float32), r"must have shape \(2, 3\), got shape \(6,\)"),
        (np.zeros((3, 3), np.float32), r"must have shape \(2, 3\), got shape \(3, 3\)"),
        (np.zeros((2, 2), np.float32), r"must have shape \(2, 3\), got shape \(2, 2\)"),
        (np.float32(0.5), r"must have shape \(2, 3\), got shape \(\)"),
        (
            np.array([[0, 0, 0], [0, np.inf, 0]], np.float32),
            r"actions \(n_envs, 3: Q1, Q2, Q3\) must be finite numbers, got inf .* "
            r"position \(1, 1\)",
        ),
    ],
)
def test_batched_refuses_actions_as_make_env_does(actions, match):
    """Like make_env's CheckAction, the batched env refuses a flat (6,) action for 2
    environments (reshaped silently before), another batch size or length (numpy
    broadcast errors before), a scalar, and inf, naming the magnets and the position."""
    venv = make_vec_env({}, 2, seed=0)
    venv.reset()
    with pytest.raises(ValueError, match=match):
        venv.step(actions)


@pytest.mark.parametrize("indices", [[0, 0], [5], [], [True, 1]])
def test_batched_refuses_bad_filter_action(indices):
    """filter_action must be distinct magnet indices 0..4, as FilterAction demands."""
    from rltutorial.envs.batched import BatchedAresEA

    with pytest.raises(ValueError, match="filter_action must be distinct integers"):
        BatchedAresEA(
            2,
            filter_observation=["beam"],
            filter_action=indices,
            rescale_action=None,
            frame_stack=None,
            time_limit=None,
        )


def test_pixel_sum_from_moments_matches_image():
    """The moment-based pixel sum agrees with the rendered image's pixel sum within 1 %."""
    rng = np.random.default_rng(0)
    beams = np.column_stack(
        [
            rng.uniform(-6e-3, 6e-3, 200),
            10 ** rng.uniform(-5.5, -2.5, 200),
            rng.uniform(-4e-3, 4e-3, 200),
            10 ** rng.uniform(-5.5, -2.5, 200),
        ]
    )
    image_sums = np.array([screen_image(beam).sum() for beam in beams])
    moments = fraction_on_screen(beams)
    visible = image_sums > 1e-3
    np.testing.assert_allclose(moments[visible], image_sums[visible], rtol=1e-2)
    np.testing.assert_allclose(moments, image_sums, atol=1e-9)
