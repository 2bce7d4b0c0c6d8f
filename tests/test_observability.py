"""Partial observability: screen noise, flicker, sensor dropout, hidden magnets."""

import dataclasses

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from side_by_side import paired_vec_envs, step_pairs

from rltutorial import load_agent, make_env, make_vec_env, train, validate_config
from rltutorial.envs import AresEACheetah
from rltutorial.evaluation import rollout
from rltutorial.observability import (
    PARTIAL_OBSERVABILITY_SCHEMA,
    BeamReader,
    ObservationSettings,
    PartialObservation,
    observes_partially,
    read_beam,
)
from rltutorial.observability.reading import observation_rng

BEAM = np.array([1e-3, 4e-4, -5e-4, 2e-4])  # mu_x, sigma_x, mu_y, sigma_y in m
EVERYTHING = {
    "beam_noise": 1e-5,
    "beam_noise_relative": 0.05,
    "flicker": 0.2,
    "sensor_dropout": 0.1,
    "hide_magnets": True,
}


def _readings(settings: dict, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n readings of BEAM after one reset (the first reading is the reset's)."""
    reader = BeamReader(ObservationSettings(**settings))
    reader.reset(seed)
    pairs = [reader.read(BEAM) for _ in range(n)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def _binomial_ok(count: int, n: int, p: float) -> bool:
    """count is within 5 standard deviations of a Binomial(n, p) mean."""
    return abs(count - n * p) <= 5 * np.sqrt(n * p * (1 - p)) + 1


def _run(config: dict, seed: int, steps: int) -> tuple[list, list]:
    """Observations and infos of make_env(config) with zero actions."""
    env = make_env(config)
    observation, info = env.reset(seed=seed)
    observations, infos = [observation], [info]
    for _ in range(steps):
        observation, _, _, _, info = env.step(np.zeros(env.action_space.shape))
        observations.append(observation)
        infos.append(info)
    return observations, infos


# ---------------------------------------------------------------- the reading model
@pytest.mark.parametrize(
    "settings,std",
    [
        ({"beam_noise": 2e-5}, np.full(4, 2e-5)),
        ({"beam_noise_relative": 0.1}, 0.1 * np.abs(BEAM)),
        (
            {"beam_noise": 2e-5, "beam_noise_relative": 0.1},
            np.hypot(2e-5, 0.1 * np.abs(BEAM)),
        ),
    ],
)
def test_noise_has_zero_mean_and_the_configured_std(settings, std):
    """Absolute noise has std beam_noise (m), relative noise beam_noise_relative·|b|,
    both together add in quadrature; all are centred on the true beam."""
    readings, missing = _readings(settings, 20_000)
    errors = readings - BEAM
    assert not missing.any()
    np.testing.assert_allclose(errors.std(axis=0), std, rtol=0.03)
    assert np.all(np.abs(errors.mean(axis=0)) < 5 * std / np.sqrt(len(errors)))


def test_noisy_sigmas_are_never_negative():
    """A beam narrower than the noise keeps sigma_x, sigma_y ≥ 0; the mus go both ways."""
    reader = BeamReader(ObservationSettings(beam_noise=1e-4))
    reader.reset(0)
    readings = np.array([reader.read(np.zeros(4))[0] for _ in range(2_000)])
    assert readings[:, [1, 3]].min() == 0.0
    assert readings[:, [0, 2]].min() < 0.0 < readings[:, [0, 2]].max()


def test_flicker_loses_whole_readings_at_its_rate():
    """With flicker p all four values go missing together in a fraction p of steps,
    and a missing reading repeats the previous one."""
    readings, missing = _readings({"flicker": 0.3, "beam_noise": 1e-5}, 5_001)
    readings, missing, previous = readings[1:], missing[1:], readings[:-1]
    assert np.all(missing.all(axis=1) == missing.any(axis=1))
    assert _binomial_ok(int(missing[:, 0].sum()), len(missing), 0.3)
    np.testing.assert_array_equal(readings[missing], previous[missing])
    assert np.all(readings[~missing] != previous[~missing])  # fresh noisy values


def test_sensor_dropout_loses_values_independently():
    """Each value is missing with probability p on its own; all four only ~p⁴ of steps."""
    p = 0.2
    readings, missing = _readings({"sensor_dropout": p, "beam_noise": 1e-5}, 5_001)
    missing, readings, previous = missing[1:], readings[1:], readings[:-1]
    for column in missing.T:
        assert _binomial_ok(int(column.sum()), len(column), p)
    assert _binomial_ok(int(missing.all(axis=1).sum()), len(missing), p**4)
    assert _binomial_ok(int((missing[:, 0] & missing[:, 1]).sum()), len(missing), p**2)
    np.testing.assert_array_equal(readings[missing], previous[missing])


def test_reset_reading_is_always_delivered():
    """Even when every reading is lost, the first one of an episode is measured."""
    readings, missing = _readings({"flicker": 1.0, "beam_noise": 1e-5}, 5)
    assert not missing[0].any() and missing[1:].all()
    np.testing.assert_array_equal(readings, np.repeat(readings[:1], 5, axis=0))
    assert not np.array_equal(readings[0], BEAM)


def test_read_beam_draws_the_same_numbers_whatever_the_settings():
    """Every reading consumes the same random numbers, so settings never shift a stream."""
    rng_a, rng_b = observation_rng(5), observation_rng(5)
    read_beam(BEAM, BEAM, rng_a, ObservationSettings())
    read_beam(BEAM, BEAM, rng_b, ObservationSettings(**EVERYTHING))
    assert rng_a.random() == rng_b.random()


# ------------------------------------------------------------------ the gym wrapper
def test_same_seed_same_readings_other_seed_other_readings():
    """Readings are reproducible from the reset seed and differ between seeds."""
    config = {"partial_observability": {"beam_noise": 1e-5, "flicker": 0.3}}
    first, infos = _run(config, seed=7, steps=6)
    again, _ = _run(config, seed=7, steps=6)
    other, _ = _run(config, seed=8, steps=6)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert any(info["beam_missing"].all() for info in infos)


def test_true_state_is_that_of_the_fully_observed_env():
    """The readings' randomness leaves the environment's own draws alone."""
    config = {"partial_observability": {"beam_noise": 1e-5, "sensor_dropout": 0.5}}
    _, partial = _run(config, seed=3, steps=4)
    _, full = _run({}, seed=3, steps=4)
    for a, b in zip(partial, full, strict=True):
        np.testing.assert_array_equal(a["beam"], b["beam"])
        np.testing.assert_array_equal(a["magnets"], b["magnets"])


def test_env_noise_statistics_over_many_seeds():
    """make_env's beam observations are the true beams plus noise of the configured std,
    exactly the readings of a BeamReader seeded with the reset seed."""
    settings = {"beam_noise": 2e-5, "beam_noise_relative": 0.01}
    env = make_env({"partial_observability": settings, "time_limit": 10})
    errors = []
    for seed in range(20):
        observation, info = env.reset(seed=seed)
        reader = BeamReader(ObservationSettings(**settings))
        reader.reset(seed)
        for _ in range(10):
            reading = reader.read(info["beam"].astype(np.float32))[0]
            np.testing.assert_array_equal(observation[:4], reading.astype(np.float32))
            errors.append(
                observation[[0, 2]] - info["beam"][[0, 2]]
            )  # mus: no clipping
            observation, _, _, _, info = env.step(np.zeros(3))
    errors = np.concatenate(errors)
    assert errors.std() == pytest.approx(2e-5, rel=0.15)  # 400 samples: 4 std errors
    assert abs(errors.mean()) < 5 * 2e-5 / np.sqrt(errors.size)


def test_hide_magnets_removes_them_from_space_and_observation():
    """hide_magnets drops the 5 magnet values from the Dict and the flat observation."""
    env = PartialObservation(AresEACheetah(), {"hide_magnets": True})
    assert "magnets" not in env.observation_space.spaces
    assert "magnets" not in env.reset(seed=0)[0]
    assert make_env().observation_space.shape == (9,)
    config = {"partial_observability": {"hide_magnets": True}, "frame_stack": 3}
    flat = make_env(config)
    assert flat.observation_space.shape == (12,)
    assert flat.reset(seed=0)[0].shape == (12,)


@pytest.mark.filterwarnings("ignore:.*(recommend|infinity|unwrapped)")
@pytest.mark.parametrize("frame_stack", [None, 2])
def test_observation_space_contains_every_observation(frame_stack):
    """Under every imperfection at once the observations stay in the declared space."""
    config = {
        "partial_observability": {**EVERYTHING, "beam_noise": 1e-3},
        "filter_observation": ["beam", "magnets", "target"],
        "frame_stack": frame_stack,
        "time_limit": 6,
    }
    env = make_env(config)
    check_env(env, skip_render_check=True)
    space = env.observation_space
    rng = np.random.default_rng(0)
    observation, _ = env.reset(seed=1)
    for _ in range(40):
        assert space.contains(observation)
        action = rng.uniform(-3, 3, env.action_space.shape).astype(np.float32)
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()


def test_stale_values_repeat_in_the_flat_observation():
    """A missing value in info["beam_missing"] equals the previous step's observation."""
    config = {"partial_observability": {"sensor_dropout": 0.4, "beam_noise": 1e-5}}
    observations, infos = _run(config, seed=2, steps=12)
    missing = np.array([info["beam_missing"] for info in infos])
    beams = np.array(observations)[:, :4]
    assert not missing[0].any() and missing.any()
    np.testing.assert_array_equal(beams[1:][missing[1:]], beams[:-1][missing[1:]])


# ---------------------------------------------------------------- batched = per env
@pytest.mark.parametrize(
    "extra",
    [{}, {"frame_stack": 2, "filter_observation": ["beam", "magnets", "target"]}],
)
def test_batched_readings_equal_per_env_readings(extra):
    """The batched VecEnv reports the same readings as a DummyVecEnv of make_env copies,
    step by step, across automatic resets, terminal observations included."""
    config = {"partial_observability": EVERYTHING, "time_limit": 5, **extra}
    batched, classic = paired_vec_envs(config, 3, seed=11)
    assert batched.observation_space == classic.observation_space
    assert batched.observation_space == make_env(config).observation_space
    np.testing.assert_allclose(batched.reset(), classic.reset(), rtol=1e-5)
    finished = 0
    for (ob, _, db, ib), (oc, _, dc, ic) in step_pairs(
        batched, classic, steps=12, action_seed=5
    ):
        np.testing.assert_allclose(ob, oc, rtol=1e-5, atol=1e-12)
        np.testing.assert_array_equal(db, dc)
        for info_b, info_c in zip(ib, ic, strict=True):
            np.testing.assert_array_equal(
                info_b["beam_missing"], info_c["beam_missing"]
            )
            if "terminal_observation" in info_c:
                finished += 1
                np.testing.assert_allclose(
                    info_b["terminal_observation"],
                    info_c["terminal_observation"],
                    rtol=1e-5,
                    atol=1e-12,
                )
    assert finished == 6


def test_batched_noise_statistics_and_seeding():
    """Batched readings are the true beams plus the configured noise, seeded per env."""
    config = {"partial_observability": {"beam_noise": 2e-5}}
    venv = make_vec_env(config, 40, seed=0)
    first = venv.reset()
    observations = [first[:, :4] - venv.beams]
    for _ in range(20):
        observation = venv.step(np.zeros((40, 3), np.float32))[0]
        observations.append(observation[:, :4] - venv.beams)
    errors = np.concatenate(observations)[:, [0, 2]]  # 1680 mus
    assert errors.std() == pytest.approx(2e-5, rel=0.07)
    assert abs(errors.mean()) < 5 * 2e-5 / np.sqrt(errors.size)
    np.testing.assert_array_equal(make_vec_env(config, 40, seed=0).reset(), first)
    other = make_vec_env(config, 40, seed=1).reset()
    assert not np.allclose(other[1:], first[:-1])  # env i + 1 of seed 1 is env i's beam


def test_rollout_reports_true_beams_but_acts_on_readings():
    """Evaluation feeds the agent what make_env shows and scores the true beam."""
    seen = []

    def act(observations):
        seen.append(observations.copy())
        return np.zeros((len(observations), 3))

    config = {"partial_observability": EVERYTHING, "time_limit": 4}
    partial = rollout(act, config, n=2, seed=5)
    full = rollout(lambda obs: np.zeros((len(obs), 3)), {"time_limit": 4}, n=2, seed=5)
    np.testing.assert_allclose(
        partial[["sigma_x", "sigma_y"]], full[["sigma_x", "sigma_y"]], rtol=1e-6
    )
    assert all(batch.shape == (2, 4) for batch in seen)
    env = make_env(config)
    np.testing.assert_allclose(seen[0][0], env.reset(seed=5)[0], rtol=1e-5)


# ------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    "value,match",
    [
        ({"flickr": 0.1}, r"did you mean 'flicker'.*Valid keys are: beam_noise, "),
        ({"noise": 1e-5}, "Valid keys are: beam_noise, beam_noise_relative, flicker"),
        ({"flicker": 1.5}, r"partial_observability\['flicker'\]"),
        ({"sensor_dropout": -0.1}, "'sensor_dropout'"),
        ({"beam_noise": float("nan")}, "'beam_noise'"),
        ({"beam_noise_relative": 2.0}, "'beam_noise_relative'"),
        ({"hide_magnets": "yes"}, "True or False"),
        (0.1, "None or a dict with keys from"),
    ],
)
def test_invalid_partial_observability_is_refused(value, match):
    """Unknown settings name the valid ones; bad values name the setting and range."""
    with pytest.raises(ValueError, match=match):
        validate_config({"partial_observability": value})
    with pytest.raises(ValueError, match=match):
        PartialObservation(AresEACheetah(), value)


def test_settings_that_cannot_apply_are_refused():
    """Corrupting an unobserved beam, or hiding the only observed key, fails early."""
    with pytest.raises(ValueError, match="add 'beam' to filter_observation"):
        make_env(
            {
                "filter_observation": ["magnets"],
                "partial_observability": {"flicker": 0.1},
            }
        )
    with pytest.raises(ValueError, match="leaves nothing to observe"):
        make_vec_env(
            {
                "filter_observation": ["magnets"],
                "partial_observability": {"hide_magnets": True},
            }
        )


def test_old_configs_are_fully_observed():
    """Configs without the key (older agents) and all-off settings change nothing."""
    assert validate_config({})["partial_observability"] is None
    for value in (None, {}, {"flicker": 0.0, "hide_magnets": False}):
        config = validate_config({"partial_observability": value})
        assert not observes_partially(config)
        env = make_env(config)
        assert "beam_missing" not in env.reset(seed=0)[1]
        assert type(make_vec_env(config, 2).venv).__name__ == "BatchedAresEA"


def test_schema_names_every_setting():
    """The config validator and ObservationSettings know the same settings."""
    fields = [field.name for field in dataclasses.fields(ObservationSettings)]
    assert sorted(PARTIAL_OBSERVABILITY_SCHEMA) == sorted(fields)
    assert ObservationSettings.from_mapping(EVERYTHING).to_dict() == EVERYTHING
    with pytest.raises(ValueError, match="'flicker'"):
        ObservationSettings(flicker=2.0)


# ------------------------------------------------------------------------ training
def test_tiny_training_with_partial_observability(tmp_path, monkeypatch):
    """A tiny PPO run on noisy, flickering readings without magnets saves an agent that
    loads, sees 4-value observations and runs an episode."""
    for name in ("MODELS", "RUNS", "RECORDINGS"):
        monkeypatch.setenv(f"RLTUTORIAL_{name}", str(tmp_path / name.lower()))
    config = {
        "partial_observability": EVERYTHING,
        "run_name": "Blurry Agent",
        "n_envs": 4,
        "n_steps": 25,
        "batch_size": 50,
        "n_epochs": 1,
        "total_timesteps": 200,
        "time_limit": 5,
        "eval_every": None,
        "seed": 0,
    }
    train(config, evaluation_episodes=2, recorded_episodes=0, progress_bar=False)
    agent = load_agent("Blurry Agent")
    assert agent.config["partial_observability"] == EVERYTHING
    assert agent.make_env().observation_space.shape == (4,)
    episode = agent.run_episode(seed=3)
    assert len(episode) == 6 and np.isfinite(episode["sigma_x"]).all()
