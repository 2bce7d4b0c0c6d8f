"""The ARES-EA environment: API conformance, termination, seeding and bad input."""

import gymnasium as gym
import numpy as np
import pytest
from scripted_backend import ScriptedBackend
from stable_baselines3.common.env_checker import check_env

import rltutorial
from rltutorial.envs import AresEA, AresEACheetah
from rltutorial.envs.ranges import SCREEN_HALF_SIZE

INSIDE = [0.0, 1e-6, 0.0, 1e-6]
OUTSIDE = [0.0, 1e-3, 0.0, 1e-3]


def _episode(env, seed: int = 3, steps: int = 30) -> list:
    """Observations, rewards and end flags of a seeded episode with fixed actions."""
    actions = np.random.default_rng(1).uniform(-1, 1, (steps, *env.action_space.shape))
    record = [env.reset(seed=seed)[0]]
    for action in actions:
        observation, reward, terminated, truncated, _ = env.step(action)
        record.append((observation, reward, terminated, truncated))
        if terminated or truncated:
            break
    return record


def test_registered_id_is_the_workshop_task():
    """gymnasium.make(ENV_ID) is make_env(DEFAULT_CONFIG): same spaces, the same
    seeded episode step for step, and its time limit of 25 steps."""
    made = gym.make(rltutorial.ENV_ID)
    ours = rltutorial.make_env(rltutorial.DEFAULT_CONFIG)
    check_env(made.unwrapped)
    assert made.observation_space == ours.observation_space
    assert made.action_space == ours.action_space
    assert made.observation_space.shape == (9,)  # beam (4) and magnets (5) only
    left, right = _episode(made), _episode(ours)
    assert len(left) == len(right) == 26 and left[-1][3]  # truncated at step 25
    for a, b in zip(left, right, strict=True):
        np.testing.assert_equal(a, b)


def test_bare_id_and_class_defaults_are_the_workshop_task():
    """The bare id, AresEACheetah() and the config's task keys agree: class defaults
    are DEFAULT_CONFIG's, and the bare env replays make_env's episode underneath."""
    from rltutorial.envs.ares_ea import task_defaults
    from rltutorial.envs.task import TaskRules
    from rltutorial.make import env_kwargs

    defaults = task_defaults()
    assert env_kwargs(rltutorial.DEFAULT_CONFIG) == defaults
    assert {k: rltutorial.DEFAULT_CONFIG[k] for k in defaults} == defaults
    rules = TaskRules()
    for key in ("reward_mode", "objective", "threshold_hold", "time_reward"):
        assert getattr(rules, key) == defaults[key]
    assert np.isnan(rules.thresholds).all()
    bare = gym.make(rltutorial.envs.BARE_ENV_ID).unwrapped
    assert isinstance(bare, AresEACheetah)
    for env in (bare, AresEACheetah()):
        assert env.rules.objective == "focus" and not env.target.any()
        assert env.backend.misalignment_sampler.mode == "constant"
        observation, _ = env.reset(seed=3)
        wrapped = rltutorial.make_env(rltutorial.DEFAULT_CONFIG)
        wrapped.reset(seed=3)
        np.testing.assert_array_equal(
            observation["beam"], wrapped.unwrapped._observation()["beam"]
        )
        np.testing.assert_array_equal(
            env.backend.get_incoming(), wrapped.unwrapped.backend.get_incoming()
        )


def test_same_seed_same_episode_different_seed_differs():
    """reset(seed=s) twice replays the episode exactly; another seed draws another problem."""

    def rollout(seed):
        env = AresEACheetah(
            misalignment_mode="random",
            target_beam_mode="random",
            magnet_init_mode="random",
        )
        observation, _ = env.reset(seed=seed)
        actions = np.random.default_rng(0).uniform(
            env.action_space.low, env.action_space.high, (3, 5)
        )
        return [observation] + [env.step(a)[0] for a in actions]

    first, again, other = rollout(7), rollout(7), rollout(8)
    for a, b in zip(first, again, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    assert not np.allclose(first[0]["incoming"], other[0]["incoming"])


def test_terminates_after_threshold_hold_steps():
    """With threshold_hold=3 the episode ends on the third step in a row within threshold."""
    backend = ScriptedBackend([OUTSIDE, INSIDE, OUTSIDE, INSIDE, INSIDE, INSIDE])
    env = AresEA(
        backend,
        target_beam_mode="constant",
        target_beam_values=np.zeros(4),
        threshold_hold=3,
        target_mu_x_threshold=1e-5,
        target_sigma_x_threshold=1e-5,
        target_mu_y_threshold=1e-5,
        target_sigma_y_threshold=1e-5,
    )
    env.reset(seed=0)
    ends = [env.step(np.zeros(5))[2] for _ in range(5)]
    assert ends == [False, False, False, False, True]


def test_no_thresholds_never_terminates():
    """With every threshold None the task never ends by success (workshop focusing task)."""
    env = AresEA(
        ScriptedBackend([INSIDE] * 3),
        target_beam_mode="constant",
        target_mu_x_threshold=None,
        target_sigma_x_threshold=None,
        target_mu_y_threshold=None,
        target_sigma_y_threshold=None,
    )
    env.reset(seed=0)
    assert not any(env.step(np.zeros(5))[2] for _ in range(3))


@pytest.mark.parametrize("abort", [True, False])
def test_abort_if_off_screen(abort):
    """A beam centre beyond the screen edge ends the episode only with abort_if_off_screen."""
    off = [SCREEN_HALF_SIZE[0] * 1.01, 1e-4, 0.0, 1e-4]
    env = AresEA(ScriptedBackend([OUTSIDE, off]), abort_if_off_screen=abort)
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.zeros(5))
    assert terminated is abort and info["on_screen"] is False


def test_action_clipped_to_space_and_reported():
    """Out-of-range actions are clipped to the magnet limits and info says so."""
    env = AresEACheetah(action_mode="direct")
    env.reset(seed=0)
    observation, *_, info = env.step(np.array([100.0, -100.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(
        observation["magnets"], [72, -72, 6.1782e-3, 0, 0], rtol=1e-6
    )
    assert info["action_clipped"] is True
    assert env.step(np.zeros(5))[4]["action_clipped"] is False


def test_delta_actions_accumulate_within_limits():
    """Delta actions add up, at most 7.2 1/m² per step, and stop at the 72 1/m² limit."""
    env = AresEACheetah(action_mode="delta")
    env.reset(seed=0)
    for _ in range(12):
        observation, *_ = env.step(np.array([50.0, 0, 0, 0, 0]))
    assert observation["magnets"][0] == pytest.approx(72.0)


def test_delta_fine_steps_grow_with_the_cube_of_the_action():
    """delta_fine: the full action moves 7.2 1/m², half of it 0.9, a tenth 0.0072."""
    env = AresEACheetah(action_mode="delta_fine", magnet_init_mode="constant",
                        magnet_init_values=np.zeros(5))  # fmt: skip
    env.reset(seed=0)
    observation, *_ = env.step(np.array([7.2, 3.6, 0.0, -0.72, 0.0]))
    np.testing.assert_allclose(
        observation["magnets"], [7.2, 0.9, 0.0, -0.0072, 0.0], rtol=1e-6
    )
    observation, *_ = env.step(np.array([50.0, 0.0, 0.0, 0.0, 0.0]))  # clipped
    assert observation["magnets"][0] == pytest.approx(14.4)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_action_raises(bad):
    """NaN and infinite actions raise a ValueError that says so."""
    env = AresEACheetah()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        env.step(np.array([0.0, bad, 0, 0, 0]))


def test_wrong_action_shape_raises():
    """An action of the wrong length names the expected magnets."""
    env = AresEACheetah()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="Q1, Q2, CV, Q3, CH"):
        env.step(np.zeros(3))


def test_reset_options_fix_the_problem():
    """Reset options set incoming beam, misalignments, target and magnets for one episode."""
    env = AresEACheetah()
    target = [1e-4, 2e-4, -1e-4, 3e-4]
    observation, _ = env.reset(
        seed=0,
        options={
            "target_beam": target,
            "magnets": [1, 2, 0, 3, 0],
            "misalignments": np.zeros(8),
        },
    )
    np.testing.assert_allclose(observation["target"], target, rtol=1e-6)
    np.testing.assert_allclose(observation["magnets"], [1, 2, 0, 3, 0])


@pytest.mark.parametrize(
    "options,match",
    [
        ({"targett": [0, 0, 0, 0]}, "valid options"),
        ({"incoming": [1, 2]}, "11 numbers"),
        ({"target_beam": [0, -1e-4, 0, 0]}, r"sigma_x = -0.0001 m is outside \[0, "),
        ({"magnets": [np.nan] * 5}, "finite"),
    ],
)
def test_bad_reset_options_raise(options, match):
    """Unknown or malformed reset options raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        AresEACheetah().reset(seed=0, options=options)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"action_mode": "deltaa"}, "Did you mean 'delta'"),
        ({"incoming_mode": "rand"}, "Valid choices"),
        ({"misalignment_values": [0] * 7}, "8 numbers"),
        ({"threshold_hold": 0}, "threshold_hold"),
        ({"target_sigma_x_threshold": -1.0}, "target_sigma_x_threshold"),
        ({"render_mode": "human"}, "render_mode"),
        ({"objective": "focussed"}, "objective"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, match):
    """Invalid modes and values are rejected at construction, naming the valid choices."""
    with pytest.raises(ValueError, match=match):
        AresEACheetah(**kwargs)


def test_step_before_reset_raises():
    """Stepping a fresh environment tells the user to reset first."""
    with pytest.raises(RuntimeError, match="reset"):
        AresEACheetah().step(np.zeros(5))


def test_render_returns_rgb_image():
    """render() gives an RGB uint8 image with the red beam ellipse drawn."""
    env = AresEACheetah(render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    red = (image[..., 0] > 180) & (image[..., 1] < 80) & (image[..., 2] < 80)
    assert red.sum() > 50


def test_info_reports_errors():
    """info carries the four errors and their means, consistent with beam and target."""
    env = AresEACheetah(target_beam_mode="constant", target_beam_values=np.zeros(4))
    observation, info = env.reset(seed=3)
    beam = info["beam"]
    assert info["err_sigma_x"] == pytest.approx(abs(beam[1]))
    assert info["mae_focus"] == pytest.approx((beam[1] + beam[3]) / 2)
    assert info["mae_all"] == pytest.approx(np.mean(np.abs(beam)))
