"""The imperfect machine: unknown quadrupole calibration errors and noisy readings."""

import numpy as np
import pytest
from side_by_side import paired_vec_envs, step_pairs

from rltutorial.config import validate_config
from rltutorial.envs.ares_ea import AresEACheetah
from rltutorial.envs.cheetah import simulate_screen_beam, true_magnets
from rltutorial.evaluation.optimum import has_optimum_table, optimum_frame
from rltutorial.make import make_env

PERTURBED = {"calibration_error": 0.02, "magnet_init_mode": "random"}


def _rollout(env, seed, steps=5):
    """Observations and true beams of a seeded episode with seeded random actions."""
    observation, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    observations, beams = [observation], [info["beam"]]
    for _ in range(steps):
        action = rng.uniform(env.action_space.low, env.action_space.high)
        observation, _, _, _, info = env.step(action.astype(np.float32))
        observations.append(observation)
        beams.append(info["beam"])
    return np.array(observations), np.array(beams), info


def test_off_by_default_changes_nothing():
    """calibration_error 0 (the default) gives bit for bit the episodes of an env
    built without the key, draws nothing and reports no calibration."""
    assert validate_config({})["calibration_error"] == 0.0
    plain = _rollout(make_env({"magnet_init_mode": "random"}), 3)
    zero = _rollout(make_env({"magnet_init_mode": "random", "calibration_error": 0}), 3)
    np.testing.assert_array_equal(plain[0], zero[0])
    np.testing.assert_array_equal(plain[1], zero[1])
    assert "calibration" not in zero[2]
    env = AresEACheetah()
    env.reset(seed=4)
    assert env.backend.calibration is None


def test_calibration_seeded_and_reproducible():
    """The same seed gives the same ε (within ±0.02) and the same episode; other
    seeds give other ε; the incoming beam is drawn after ε."""
    env = make_env(PERTURBED)
    first = _rollout(env, 7)
    again = _rollout(env, 7)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[2]["calibration"], again[2]["calibration"])
    epsilons = []
    for seed in range(20):
        _, info = env.reset(seed=seed)
        epsilons.append(info["calibration"])
    epsilons = np.array(epsilons)
    assert epsilons.shape == (20, 3)
    assert np.all(np.abs(epsilons) <= 0.02) and np.abs(epsilons).max() > 0.01
    assert len(np.unique(epsilons[:, 0])) == 20


def test_agent_sees_set_magnets_machine_acts_with_true_k1():
    """The observed magnets are the set values; the beam is the one of k1 × (1 + ε),
    which differs from the nominal machine's beam."""
    env = AresEACheetah(calibration_error=0.02, action_mode="direct")
    env.reset(seed=2)
    setting = np.array([20.0, -15.0, 0.0, 10.0, 0.0])
    observation, _, _, _, info = env.step(setting)
    np.testing.assert_allclose(observation["magnets"], setting.astype(np.float32))
    backend = env.backend
    scaled = setting.copy()
    scaled[[0, 1, 3]] *= 1 + backend.calibration
    expected = simulate_screen_beam(scaled, backend.incoming, backend.misalignments)
    np.testing.assert_allclose(info["beam"], expected, rtol=1e-12)
    nominal = simulate_screen_beam(setting, backend.incoming, backend.misalignments)
    assert np.abs(info["beam"] - nominal).max() > 1e-7


def test_tracked_beam_equals_cheetah_tracking_of_scaled_k1():
    """The closed-form path with calibration errors equals Cheetah's own tracking of
    the lattice with the scaled k1 (set Q1 at the ±72 limit: the true k1 exceeds it)."""
    rng = np.random.default_rng(0)
    magnets = np.column_stack(
        [
            np.array([72.0, -72.0, 30.0, -5.0]),
            rng.uniform(-72, 72, 4),
            rng.uniform(-6e-3, 6e-3, 4),
            rng.uniform(-72, 72, 4),
            rng.uniform(-6e-3, 6e-3, 4),
        ]
    )
    calibration = rng.uniform(-0.02, 0.02, (4, 3))
    calibration[0, 0] = calibration[1, 0] = 0.02
    incoming = np.tile(
        [107e6, 1e-4, 1e-5, -2e-4, 2e-5, 2e-4, 2e-5, 1e-4, 1e-5, 1e-5, 5e-4], (4, 1)
    )
    misalignments = rng.uniform(-1e-4, 1e-4, (4, 8))
    fast = simulate_screen_beam(magnets, incoming, misalignments, "optics", calibration)
    scaled = true_magnets(magnets, calibration)
    assert scaled[0, 0] == pytest.approx(72 * 1.02)
    from rltutorial.envs.cheetah import track_with_cheetah

    reference = track_with_cheetah(scaled, incoming, misalignments)
    np.testing.assert_allclose(fast, reference, rtol=1e-9, atol=1e-15)
    tracked = simulate_screen_beam(
        magnets, incoming, misalignments, "cheetah", calibration
    )
    np.testing.assert_allclose(tracked, reference, rtol=0, atol=0)


def test_batched_equals_single_with_calibration_errors():
    """The batched env draws the same ε, tracks the same beams and reports the same
    calibration as the single env for the same seeds and actions."""
    config = {**PERTURBED, "time_limit": 6}
    batched, classic = paired_vec_envs(config, 3, seed=21)
    np.testing.assert_array_equal(batched.reset(), classic.reset())
    for (b_obs, b_rew, b_done, b_infos), (c_obs, c_rew, c_done, c_infos) in step_pairs(
        batched, classic, steps=8, action_seed=1
    ):
        np.testing.assert_allclose(b_obs, c_obs, rtol=1e-6)
        np.testing.assert_allclose(b_rew, c_rew, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(b_done, c_done)
        for b_info, c_info in zip(b_infos, c_infos, strict=True):
            np.testing.assert_array_equal(b_info["calibration"], c_info["calibration"])
            np.testing.assert_allclose(b_info["beam"], c_info["beam"], rtol=1e-12)


def test_reading_noise_scale():
    """With partial_observability beam_noise_relative 0.05 the observed sigmas scatter
    around the true ones by about 5 % (std of the ratio within 0.04–0.06)."""
    config = {
        **PERTURBED,
        "partial_observability": {"beam_noise_relative": 0.05},
        "filter_observation": ["beam", "magnets"],
    }
    env = make_env(config)
    ratios = []
    for seed in range(200):
        observation, info = env.reset(seed=seed)
        ratios.append(observation[[1, 3]] / info["beam"][[1, 3]])  # flat: beam first
    ratios = np.array(ratios)
    assert 0.04 < ratios.std() < 0.06
    assert abs(ratios.mean() - 1) < 0.01


@pytest.mark.parametrize("value", [-0.01, 0.6, "0.02", True, None])
def test_config_errors_name_the_key(value):
    """A calibration_error that is not a number in [0, 0.5] is refused naming the key."""
    with pytest.raises(ValueError, match="calibration_error"):
        validate_config({"calibration_error": value})
    with pytest.raises(ValueError, match="calibration_error"):
        AresEACheetah(calibration_error=value)


def test_reset_option_fixes_calibration_and_is_checked():
    """The reset option calibration fixes ε for one episode; |ε| ≥ 1 is refused."""
    env = AresEACheetah(calibration_error=0.02)
    _, info = env.reset(seed=0, options={"calibration": [0.01, -0.01, 0.0]})
    np.testing.assert_array_equal(info["calibration"], [0.01, -0.01, 0.0])
    with pytest.raises(ValueError, match="calibration"):
        env.reset(seed=0, options={"calibration": [1.5, 0.0, 0.0]})


def test_optimum_table_refused_for_perturbed_machine():
    """The nominal optimum table does not describe a perturbed machine: no yardstick."""
    assert has_optimum_table({})
    assert not has_optimum_table({"calibration_error": 0.02})
    assert optimum_frame({"calibration_error": 0.02}, range(3)) is None


def test_epics_backend_refuses_calibration_error():
    """A real machine has its own errors: asking for simulated ones is refused."""
    with pytest.raises(ValueError, match="calibration_error"):
        make_env({"calibration_error": 0.02}, backend="epics", address="127.0.0.1:1")
