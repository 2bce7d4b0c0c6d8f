"""make_env and the wrappers: spaces, action filtering, normalisation, recording, monitor."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env

from rltutorial import DEFAULT_CONFIG, make_env
from rltutorial.envs import AresEACheetah
from rltutorial.normalization import NormalizationStats, NotVecNormalize
from rltutorial.wrappers import FilterAction


def test_make_env_default_passes_check_env():
    """The workshop environment (flat obs, 3 rescaled quadrupole actions) passes check_env."""
    env = make_env(DEFAULT_CONFIG)
    check_env(env)
    assert env.observation_space.shape == (9,)
    assert env.action_space.shape == (3,) and env.action_space.high[0] == 3.0


def test_time_limit_truncates():
    """Episodes are truncated after time_limit steps."""
    env = make_env({"time_limit": 4})
    env.reset(seed=0)
    flags = [env.step(np.zeros(3))[3] for _ in range(4)]
    assert flags == [False, False, False, True]


def test_filter_action_holds_correctors():
    """Filtered delta actions move only Q1, Q2, Q3; the correctors stay at zero."""
    env = FilterAction(AresEACheetah(action_mode="delta"), [0, 1, 3])
    env.reset(seed=0)
    observation, *_ = env.step(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(observation["magnets"], [1, 2, 0, 3, 0])


def test_filter_action_rejects_bad_indices():
    """Indices outside 0..4 or repeated are refused."""
    with pytest.raises(ValueError, match="distinct integers"):
        FilterAction(AresEACheetah(), [0, 7])


def test_frame_stack_multiplies_observation():
    """frame_stack=3 stacks three flat observations."""
    assert make_env({"frame_stack": 3}).observation_space.shape == (27,)


def test_not_vec_normalize_applies_stats(tmp_path):
    """Saved statistics normalise like VecNormalize: (obs - mean)/sqrt(var + eps), clipped."""
    env = make_env(DEFAULT_CONFIG)
    stats = NormalizationStats(
        mean=[1e-4] * 9, var=[4e-8] * 9, count=10.0, clip_obs=5.0
    )
    stats = NormalizationStats.load(stats.save(tmp_path / "stats.json"))
    wrapped = NotVecNormalize(make_env(DEFAULT_CONFIG), stats)
    raw, _ = env.reset(seed=1)
    normalized, _ = wrapped.reset(seed=1)
    expected = np.clip((raw - 1e-4) / np.sqrt(4e-8 + 1e-8), -5, 5)
    np.testing.assert_allclose(normalized, expected, rtol=1e-5)


def test_not_vec_normalize_rejects_wrong_size(tmp_path):
    """Statistics of another observation size are refused with both sizes named."""
    with pytest.raises(ValueError, match="4 observation values"):
        NotVecNormalize(
            make_env(DEFAULT_CONFIG), NormalizationStats([0.0] * 4, [1.0] * 4, 1.0)
        )
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="Cannot read"):
        NormalizationStats.load(tmp_path / "bad.json")


def test_record_video_writes_gif(tmp_path):
    """record_video writes one GIF per finished episode."""
    env = make_env({"time_limit": 2}, record_video=tmp_path)
    env.reset(seed=0)
    env.step(np.zeros(3))
    env.step(np.zeros(3))
    gifs = list(tmp_path.glob("*.gif"))
    assert len(gifs) == 1 and gifs[0].stat().st_size > 1000


def test_monitor_writes_csv(tmp_path):
    """monitor_filename logs finished episodes with their success flag."""
    env = make_env({"time_limit": 2}, monitor_filename=tmp_path / "run")
    env.reset(seed=0)
    env.step(np.zeros(3))
    env.step(np.zeros(3))
    env.close()
    lines = (tmp_path / "run.monitor.csv").read_text().splitlines()
    assert "is_success" in lines[1] and len(lines) == 3


def test_check_action_passes_valid_actions_and_needs_a_box():
    """CheckAction hands a valid action on unchanged (in the space's dtype) and
    refuses environments whose action space is not a Box."""
    from rltutorial.wrappers import CheckAction

    env = CheckAction(AresEACheetah(), "action (all five)")
    env.reset(seed=0)
    action = np.array([1.0, -1.0, 1e-4, 0.5, -1e-4], np.float32)
    checked = env.action(action)
    assert checked.dtype == np.float32 and np.array_equal(checked, action)
    with pytest.raises(ValueError, match=r"action \(all five\) must have shape \(5,\)"):
        env.action(action[:4])
    with pytest.raises(ValueError, match="needs a Box action space"):
        CheckAction(gym.make("CartPole-v1"))
