"""train(config): tiny runs into temporary folders, config handling, interruption."""

import copy
import warnings

import numpy as np
import pytest

from rltutorial import load_agent, train, validate_config
from rltutorial.agents.training import TrainingInterrupted
from rltutorial.algorithms import ALGORITHM_REGISTRY, register_algorithm

TINY = {
    "n_envs": 4,
    "n_steps": 25,
    "batch_size": 50,
    "n_epochs": 2,
    "total_timesteps": 400,
    "time_limit": 5,
    "eval_every": 200,
    "eval_episodes": 4,
    "seed": 0,
}


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Models, runs and recordings in a temporary folder."""
    for name in ("MODELS", "RUNS", "RECORDINGS"):
        monkeypatch.setenv(f"RLTUTORIAL_{name}", str(tmp_path / name.lower()))
    return tmp_path


def test_tiny_training_produces_a_loadable_agent(folders):
    """A few hundred steps give a saved, loadable agent with logs, metrics and a GIF."""
    config = {**TINY, "run_name": "Tiny Agent"}
    before = copy.deepcopy(config)
    agent = train(
        config, evaluation_episodes=4, recorded_episodes=1, progress_bar=False
    )
    assert config == before  # the caller's config is untouched
    folder = folders / "models" / "Tiny Agent"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.yaml",
        "manifest.json",
        "metrics.json",
        "monitor.csv",
        "normalization.json",
        "policy.pt",
    ]
    loaded = load_agent("tiny agent")
    assert loaded.config == validate_config(config)
    training = loaded.metrics["training"]
    assert training["timesteps"] == 400 and not training["interrupted"]
    assert [t for t, _ in training["eval_history"]] == [200, 400, 400]
    assert loaded.metrics["evaluation"]["n_episodes"] == 4
    assert isinstance(loaded.metrics["behaviour"], str)
    assert loaded.monitor()["episodes"].sum() == 400 // 5  # all episodes, in blocks
    assert (folders / "recordings" / "Tiny Agent" / "episode-0.gif").is_file()
    assert any((folders / "runs" / "Tiny Agent").glob("tensorboard_*"))
    raw = agent.make_env().env.reset(seed=0)[0][None]  # un-normalised observation
    assert (agent.act(raw) == loaded.act(raw)).all()


@pytest.mark.parametrize("algorithm", ["td3", "sac"])
def test_off_policy_agents_train_through_the_same_entry_point(folders, algorithm):
    """algorithm='td3'/'sac' trains, saves, loads by name, acts deterministically and
    exports a Stable-Baselines3 zip that predicts the same actions."""
    import stable_baselines3

    name = f"Tiny {algorithm.upper()}"
    config = {
        **TINY,
        "algorithm": algorithm,
        "run_name": name,
        "learning_starts": 100,
        "batch_size": 32,
        "normalize_reward": False,
    }
    train(config, evaluation_episodes=2, recorded_episodes=0, progress_bar=False)
    loaded = load_agent(name)
    assert loaded.metrics["training"]["algorithm"] == algorithm
    assert len(loaded.run_episode(seed=3)) >= 1
    raw = loaded.make_env().env.reset(seed=0)[0][None]
    action = loaded.act(raw)
    assert action.shape == (1, 3) and np.all(np.abs(action) <= 3.0)
    np.testing.assert_allclose(loaded.act(raw), action)  # deterministic
    sb3_class = getattr(stable_baselines3, algorithm.upper())
    zip_file = loaded.export_sb3_zip(folders / f"{algorithm}.zip")
    model = sb3_class.load(zip_file, device="cpu")
    expected = model.predict(loaded.normalize(raw), deterministic=True)[0]
    np.testing.assert_allclose(expected, action, rtol=1e-6)


def test_recurrent_agent_remembers_within_an_episode(folders):
    """A RecurrentPPO agent trains, loads, and its actions depend on earlier steps;
    the batched evaluation and a single episode agree step by step."""
    from rltutorial.evaluation import rollout

    config = {**TINY, "algorithm": "recurrent_ppo", "run_name": "Tiny LSTM"}
    train(config, evaluation_episodes=2, recorded_episodes=0, progress_bar=False)
    agent = load_agent("Tiny LSTM")
    assert agent.recurrent
    raw = agent.make_env().env.reset(seed=0)[0][None]
    actor = agent.actor()
    first, second = actor(raw), actor(raw)
    assert not np.allclose(first, second)  # same reading, different memory
    np.testing.assert_allclose(agent.act(raw), first)  # act starts afresh each call
    single = agent.run_episode(seed=4)
    batched = rollout(agent.actor(), agent.config, n=2, seed=3)
    batched = batched[batched["episode"] == 4].reset_index(drop=True)
    np.testing.assert_allclose(
        batched["objective"].to_numpy(), single["objective"].to_numpy(), rtol=1e-5
    )


def test_run_without_name_gets_a_new_name(folders):
    """Without run_name the run is named like a person and saved under that name."""
    agent = train(
        {**TINY, "total_timesteps": 100, "eval_every": None},
        evaluation_episodes=0,
        recorded_episodes=0,
        progress_bar=False,
    )
    assert len(agent.name.split()) == 2
    assert (folders / "models" / agent.name).is_dir()


def test_existing_name_is_refused_before_training(folders):
    """Training onto an existing agent name fails at once unless overwrite=True."""
    (folders / "models" / "Taken").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        train({**TINY, "run_name": "Taken"})


def test_invalid_config_fails_before_training(folders):
    """An unknown algorithm is refused with the valid choices."""
    with pytest.raises(ValueError, match="'ppo', 'recurrent_ppo', 'sac', 'td3'"):
        train({**TINY, "algorithm": "a2c"})
    with pytest.raises(ValueError, match="cannot name a folder"):
        train({**TINY, "run_name": "../escape"})


def test_keyboard_interrupt_keeps_a_usable_agent(folders, monkeypatch):
    """Ctrl-C during learning saves the policy so far, warns, and returns the agent."""
    from stable_baselines3 import PPO

    original = PPO.learn

    def interrupted_learn(self, total_timesteps, **kwargs):
        original(self, 200, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(PPO, "learn", interrupted_learn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agent = train(
            {**TINY, "run_name": "Stopped"}, evaluation_episodes=2, progress_bar=False
        )
    assert any(issubclass(w.category, TrainingInterrupted) for w in caught)
    assert agent.metrics["training"]["interrupted"] is True
    assert load_agent("Stopped").metrics["training"]["timesteps"] == 200


def test_register_algorithm_extends_the_config_choices(monkeypatch):
    """A registered algorithm becomes a valid config value."""
    monkeypatch.delitem(ALGORITHM_REGISTRY, "ppo-copy", raising=False)
    try:
        register_algorithm("ppo-copy", ALGORITHM_REGISTRY["ppo"])
        assert validate_config({"algorithm": "ppo-copy"})["algorithm"] == "ppo-copy"
        with pytest.raises(ValueError, match="already exists"):
            register_algorithm("ppo-copy", ALGORITHM_REGISTRY["ppo"])
    finally:
        ALGORITHM_REGISTRY.pop("ppo-copy", None)
    with pytest.raises(ValueError, match="'ppo-copy'"):
        validate_config({"algorithm": "ppo-copy"})
