"""The agent zoo: loading without pickle, names and aliases, damaged files, environments."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from rltutorial import list_agents, load_agent, save_config, validate_config
from rltutorial.agents import REFERENCE_AGENT, Agent, saving
from rltutorial.agents import storage as agent_io
from rltutorial.agents.manifest import write_manifest
from rltutorial.agents.zoo import AGENT_ALIASES
from rltutorial.evaluation import evaluate_agent
from rltutorial.paths import models_dir

SHIPPED = list_agents()


@pytest.fixture
def no_pickle(monkeypatch):
    """Make any use of pickle, of torch.load without weights_only, or of PPO.load fail."""
    from stable_baselines3 import PPO

    def refuse(*args, **kwargs):
        raise AssertionError("pickle must not be used to load agents")

    original = torch.load

    def weights_only_load(*args, weights_only=None, **kwargs):
        if weights_only is not True:
            raise AssertionError("torch.load must be called with weights_only=True")
        return original(*args, weights_only=True, **kwargs)

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", weights_only_load)
    monkeypatch.setattr(PPO, "load", refuse)


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """A temporary models folder holding two untrained agents."""
    monkeypatch.setenv("RLTUTORIAL_MODELS", str(tmp_path / "models"))
    for name, seed in (("Gary Buchwald", 1), ("Betty Gordon", 2)):
        Agent.untrained(name=name, seed=seed).save()
    return tmp_path / "models"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_agent_loads_without_pickle(name, tmp_path, monkeypatch, no_pickle):
    """Each shipped agent loads by name from another directory, validates and evaluates."""
    monkeypatch.chdir(tmp_path)
    agent = load_agent(name)
    assert agent.name == name
    assert validate_config(agent.config) == agent.config
    evaluation = evaluate_agent(agent, n=3)
    assert evaluation.metrics["n_episodes"] == 3
    assert "evaluation" in agent.metrics and "behaviour" in agent.metrics


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_agent_has_a_valid_manifest(name):
    """Each shipped agent carries a manifest that matches its files (re-save an agent
    without one with scripts/resave_zoo.py)."""
    from rltutorial.agents.manifest import verify_manifest
    from rltutorial.agents.zoo import agent_folder

    assert verify_manifest(agent_folder(name), known=agent_io.AGENT_FILES)


@pytest.mark.skipif(not SHIPPED, reason="no agents shipped in models/")
def test_reference_alias_loads_reference_agent(no_pickle):
    """'reference' (any case) loads the reference agent of the zoo."""
    assert load_agent("Reference").name == REFERENCE_AGENT


def test_names_are_case_insensitive_and_aliases_work(zoo, monkeypatch):
    """Names match regardless of letter case; registered aliases resolve."""
    assert load_agent("gary BUCHWALD").name == "Gary Buchwald"
    monkeypatch.setitem(AGENT_ALIASES, "best", "Betty Gordon")
    assert load_agent("Best").name == "Betty Gordon"
    monkeypatch.setitem(AGENT_ALIASES, "gone", "Nobody Here")
    with pytest.raises(ValueError, match="refers to agent 'Nobody Here'"):
        load_agent("gone")


def test_misspelt_name_suggests_close_matches(zoo):
    """An unknown name lists the agents and suggests the closest."""
    with pytest.raises(ValueError) as error:
        load_agent("Gary Buchwal")
    message = str(error.value)
    assert "Did you mean 'Gary Buchwald'" in message
    assert "'Betty Gordon'" in message


def test_empty_zoo_says_where_it_looked(tmp_path, monkeypatch):
    """Without agents, the error names the folder and how to get agents."""
    monkeypatch.setenv("RLTUTORIAL_MODELS", str(tmp_path))
    with pytest.raises(ValueError, match="no agents in"):
        load_agent("anyone")


def test_corrupted_weights_name_the_file(zoo):
    """A damaged policy.pt gives a ValueError naming that file."""
    (zoo / "Betty Gordon" / agent_io.WEIGHTS_FILE).write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"Betty Gordon/policy\.pt.*damaged"):
        load_agent("Betty Gordon")


def test_weights_of_another_network_are_refused(zoo):
    """Weights that do not fit the config's net_arch are refused, naming the file."""
    config = agent_io.read_config(zoo / "Betty Gordon")
    save_config(
        {**config, "net_arch": [32]}, zoo / "Betty Gordon" / agent_io.CONFIG_FILE
    )
    write_manifest(zoo / "Betty Gordon")  # a deliberate edit: only the shapes differ
    with pytest.raises(ValueError, match="do not fit the network"):
        load_agent("Betty Gordon")


def test_saved_agent_acts_like_the_original(tmp_path):
    """Saving and loading keeps the policy: same deterministic actions."""
    agent = Agent.untrained(seed=4)
    loaded = Agent.from_folder(agent.save(tmp_path / "Copy"))
    observations = np.random.default_rng(0).normal(size=(5, 9)).astype(np.float32)
    np.testing.assert_allclose(agent.act(observations), loaded.act(observations))


def test_failed_save_leaves_nothing_behind(tmp_path):
    """An error while writing leaves neither the agent folder nor a partial one
    (only the folder of locks)."""
    agent = Agent.untrained()
    with pytest.raises(AttributeError):
        saving.write_agent_folder(
            tmp_path / "Broken", agent.config, {"w": "not a tensor"}, None, {}
        )
    assert [path.name for path in tmp_path.iterdir()] == [".locks"]


def test_existing_agent_is_not_overwritten_by_default(tmp_path):
    """Saving onto an existing agent needs overwrite=True."""
    agent = Agent.untrained()
    agent.save(tmp_path / "A")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        agent.save(tmp_path / "A")
    agent.save(tmp_path / "A", overwrite=True)


def test_make_env_validates_overrides(zoo):
    """Overrides change the task; keys that would change the policy's spaces are refused."""
    agent = load_agent("Betty Gordon")
    env = agent.make_env(misalignment_mode="random", time_limit=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="filter_action"):
        agent.make_env(filter_action=[0, 1])
    with pytest.raises(ValueError, match="Unknown config key"):
        agent.make_env(reward_mod="negative_objective")
    with pytest.raises(ValueError, match="hide_magnets"):
        agent.make_env(partial_observability={"hide_magnets": True})
    noisy = agent.make_env(partial_observability={"beam_noise": 1e-5, "flicker": 0.2})
    assert noisy.observation_space == agent.make_env().observation_space


def test_run_episode_returns_steps_and_frames(zoo):
    """run_episode gives one row per step (step 0 = reset) and, if asked, RGB frames."""
    agent = load_agent("Gary Buchwald")
    episode = agent.run_episode(seed=1)
    assert isinstance(episode, pd.DataFrame)
    assert list(episode["step"]) == list(range(26))
    short, frames = agent.run_episode(seed=1, render=True, max_steps=2)
    assert len(short) == len(frames) == 3 and frames[0].ndim == 3
    pd.testing.assert_frame_equal(short, episode.head(3))


def test_export_sb3_zip_loads_with_ppo(tmp_path):
    """The exported zip loads with PPO.load and acts like the agent."""
    from stable_baselines3 import PPO

    agent = Agent.untrained(seed=5)
    path = agent.export_sb3_zip(tmp_path / "agent")
    model = PPO.load(path, device="cpu")
    observations = np.random.default_rng(1).normal(size=(4, 9)).astype(np.float32)
    expected, _ = agent.predict(observations)
    np.testing.assert_allclose(
        model.predict(observations, deterministic=True)[0], expected
    )


def test_list_agents_skips_partial_folders(zoo):
    """Hidden staging folders of interrupted saves are not agents."""
    (zoo / ".Someone.1234.partial").mkdir()
    assert list_agents() == ["Betty Gordon", "Gary Buchwald"]
    assert models_dir() == zoo.resolve()


def test_compact_monitor_averages_blocks(tmp_path):
    """Ten episodes in at most five rows: pairs averaged, wall time of the pair's end."""
    source = tmp_path / "full.csv"
    rows = "\n".join(f"{r},{10 + r},{r * 1.5}" for r in range(10))
    source.write_text('#{"t_start": 0}\nr,l,t\n' + rows + "\n")
    compact = saving.compact_monitor(source, tmp_path / "small.csv", max_rows=5)
    table = pd.read_csv(compact, comment="#")
    assert compact.read_text().startswith('#{"t_start": 0}')
    assert list(table["r"]) == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert list(table["t"]) == [1.5, 4.5, 7.5, 10.5, 13.5]
    assert list(table["episodes"]) == [2] * 5 and table["l"].iloc[0] == 10.5


def test_log_length_features_need_raw_observations(tmp_path):
    """log_lengths features scale raw lengths (1 mm → 0.75) and refuse normalised inputs."""
    agent = Agent.untrained({"policy_features": "log_lengths"})
    features = agent.policy.features_extractor(
        torch.tensor([[0.0, 1e-3, 0.0, 1e-5, 72.0, -36.0, 0.0, 0.0, 6.1782e-3]])
    )
    np.testing.assert_allclose(
        features[0, [1, 3, 4, 5, 8]].numpy(),
        [0.7501, 0.2603, 1.0, -0.5, 1.0],
        atol=1e-4,
    )
    folder = Agent.untrained().save(tmp_path / "Mixed")
    config = agent_io.read_config(folder)
    config.update(policy_features="log_lengths", normalize_observation=True)
    save_config(config, folder / agent_io.CONFIG_FILE)
    write_manifest(folder)
    with pytest.raises(ValueError, match="normalize_observation"):
        Agent.from_folder(folder)
