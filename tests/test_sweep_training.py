"""Tests for rltutorial.sweep.studies: training studies, serially and on Dask."""

from __future__ import annotations

import gc
import importlib
import math
import os

import numpy as np
import pytest
import yaml

from rltutorial import load_agent, validate_config
from rltutorial.agents import Agent
from rltutorial.sweep import (
    SWEEP_BACKENDS,
    grid,
    make_client,
    run_sweep,
    study_config,
    train_point,
)

TINY = {
    "n_envs": 4,
    "n_steps": 50,
    "batch_size": 50,
    "n_epochs": 1,
    "total_timesteps": 200,
    "time_limit": 5,
    "eval_every": None,
}
EPISODES = 3
METRICS = ("median_mae", "success_rate", "near_optimal_rate", "mean_steps")


def study_kwargs(folder, **options):
    """simulate_kwargs of a tiny study saved into ``folder``."""
    return {
        "base_config": TINY,
        "folder": folder,
        "study": "tiny",
        "evaluation_episodes": EPISODES,
        **options,
    }


@pytest.fixture(scope="module")
def serial_study(tmp_path_factory):
    """A 2 × 2 study (reward mode × seed) trained serially, and its folder."""
    folder = tmp_path_factory.mktemp("serial-study")
    points = grid(
        reward_mode=["objective_improvement", "negative_objective"], seed=[0, 1]
    )
    frame = run_sweep(
        "training", points, progress=False, simulate_kwargs=study_kwargs(folder)
    )
    return points, frame, folder


# --- naming and configs (no training) ------------------------------------------


def test_study_config_merges_point_over_base_and_names_by_hash():
    """Point keys win over the base; the run name is the same for the same config."""
    base = {**TINY, "seed": 3, "reward_mode": "negative_objective"}
    before = dict(base)
    config = study_config(base, {"seed": 1}, "rewards")
    assert base == before  # the caller's base is untouched
    assert config["seed"] == 1 and config["reward_mode"] == "negative_objective"
    assert config["run_name"].startswith("study-rewards-")
    assert len(config["run_name"]) == len("study-rewards-") + 10
    assert study_config(base, {"seed": 1}, "rewards")["run_name"] == config["run_name"]
    assert study_config(base, {"seed": 2}, "rewards")["run_name"] != config["run_name"]
    assert study_config(None, {}, None)["run_name"].startswith("study-")
    named = study_config(base, {"run_name": "Mine"}, "rewards")
    assert named["run_name"] == "Mine"


def test_study_config_reads_yaml_base(tmp_path):
    """A base config may be a YAML file."""
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump({**TINY, "action_mode": "direct"}))
    assert study_config(path, {"seed": 0})["action_mode"] == "direct"


def test_study_config_errors():
    """Invalid keys and values, a base run_name and a bad study name raise ValueError."""
    with pytest.raises(ValueError, match="'objective_improvement'"):
        study_config(TINY, {"reward_mode": "nope"})
    with pytest.raises(ValueError, match="Unknown config key"):
        study_config(TINY, {"learning_rat": 1e-3})
    with pytest.raises(ValueError, match="would name every agent"):
        study_config({"run_name": "Same"}, {})
    with pytest.raises(ValueError, match="cannot name a folder"):
        study_config(TINY, {}, "a/b")
    with pytest.raises(ValueError, match="must be a dict"):
        study_config([1, 2], {})


def test_study_leaves_the_environment_alone(tmp_path, monkeypatch):
    """A study point writes into its folder through train's root argument: the
    process's RLTUTORIAL_* variables are neither read for it nor changed."""
    monkeypatch.setenv("RLTUTORIAL_MODELS", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("RLTUTORIAL_RUNS", raising=False)
    row = train_point(TINY, folder=tmp_path / "study", evaluation_episodes=0)
    assert row["agent_folder"] == str(tmp_path / "study" / "models" / row["agent"])
    assert (tmp_path / "study" / "runs" / row["agent"]).is_dir()
    assert os.environ["RLTUTORIAL_MODELS"] == str(tmp_path / "elsewhere")
    assert "RLTUTORIAL_RUNS" not in os.environ
    assert not (tmp_path / "elsewhere").exists()


def test_prepare_rejects_bad_study_arguments(tmp_path):
    """Unknown names, bad options and invalid base configs fail before any training."""
    cases = [
        ({"evaluation_episode": 3}, r"unknown training-study argument.*'folder'"),
        ({"if_exists": "skip"}, "'fail', 'overwrite', 'reuse'"),
        ({"recorded_episodes": -1}, "recorded_episodes must be an integer"),
        ({"base_config": {**TINY, "n_envs": 0}}, "Config key 'n_envs'"),
        ({"run_name": "Same"}, "would name every agent"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            run_sweep(
                "training",
                [{"seed": 0}],
                progress=False,
                simulate_kwargs={**study_kwargs(tmp_path), **options},
            )
    assert not any(tmp_path.iterdir())


def _visible(folder) -> set[str]:
    """Folders in ``folder``, hidden ones (``.locks``) and lock files left out."""
    return {p.name for p in folder.iterdir() if p.is_dir() and p.name[0] != "."}


def test_training_backend_is_registered():
    """The "training" backend runs train_point and checks its arguments first."""
    backend = SWEEP_BACKENDS["training"]
    assert backend.simulate is train_point and backend.prepare is not None


# --- studies --------------------------------------------------------------------


def test_serial_study_one_row_per_point_with_metrics(serial_study):
    """Rows follow the points and carry metrics, training facts and agent folders."""
    points, frame, folder = serial_study
    assert frame[["reward_mode", "seed"]].to_dict("records") == points
    assert set(frame["status"]) == {"ok"}, frame["error"].tolist()
    assert (frame["timesteps"] == 200).all() and (frame["n_episodes"] == EPISODES).all()
    assert (frame["train_time_s"] > 0).all() and not frame["reused"].any()
    for column in METRICS:
        assert frame[column].notna().all(), column
    assert frame["agent"].str.fullmatch(r"study-tiny-[0-9a-f]{10}").all()
    assert frame["agent"].nunique() == len(points)
    assert "seed_result" not in frame  # evaluation settings are not results
    assert _visible(folder / "models") == set(frame["agent"])
    assert _visible(folder / "runs") == set(frame["agent"])


def test_study_agents_load_with_their_configs(serial_study, monkeypatch):
    """Saved agents load from agent_folder and by name from the study's models."""
    points, frame, folder = serial_study
    row = frame.iloc[3]
    agent = Agent.from_folder(row["agent_folder"])
    assert agent.config == validate_config(
        {**TINY, **points[3], "run_name": row["agent"]}
    )
    assert agent.metrics["evaluation"]["median_mae"] == pytest.approx(row["median_mae"])
    monkeypatch.setenv("RLTUTORIAL_MODELS", str(folder / "models"))
    assert load_agent(row["agent"]).name == row["agent"]


def test_bad_point_fails_with_valid_choices_others_reuse(serial_study):
    """A bad reward mode is one failed row; rerunning with reuse skips trained agents."""
    points, frame, folder = serial_study
    bad = {"reward_mode": "nope", "seed": 0}
    again = run_sweep(
        "training",
        [points[0], bad, points[1]],
        progress=False,
        simulate_kwargs=study_kwargs(folder, if_exists="reuse"),
    )
    assert again["status"].tolist() == ["ok", "failed", "ok"]
    error = again["error"].iloc[1]
    assert error.startswith("ValueError: ") and "'nope'" in error
    assert "'negative_objective', 'objective_improvement'" in error
    assert math.isnan(again["median_mae"].iloc[1])
    assert again["reused"].iloc[[0, 2]].tolist() == [True, True]
    ok = again.iloc[[0, 2]].reset_index(drop=True)
    expected = frame.iloc[[0, 1]].reset_index(drop=True)
    assert ok["agent"].tolist() == expected["agent"].tolist()
    np.testing.assert_allclose(ok["median_mae"], expected["median_mae"])


def test_existing_agent_fails_unless_overwrite_or_reuse(serial_study):
    """By default a study does not replace an agent it trained before."""
    points, frame, folder = serial_study
    again = run_sweep(
        "training", points[:1], progress=False, simulate_kwargs=study_kwargs(folder)
    )
    assert again["status"].tolist() == ["failed"]
    assert "FileExistsError" in again["error"].iloc[0]
    assert "exists" in again["error"].iloc[0]


def test_reuse_refuses_an_agent_trained_with_another_config(serial_study):
    """reuse only returns stored results when the stored config is the requested one."""
    points, frame, folder = serial_study
    run_name = frame["agent"].iloc[0]
    result = run_sweep(
        "training",
        [{**points[0], "seed": 5, "run_name": run_name}],
        progress=False,
        simulate_kwargs=study_kwargs(folder, if_exists="reuse"),
    )
    assert result["status"].tolist() == ["failed"]
    assert "another config (differs in ['seed'])" in result["error"].iloc[0]


def test_study_on_local_cluster(tmp_path):
    """Two workers train one agent each; rows, folders and failures as serially."""
    points = [
        {"action_mode": "delta", "seed": 0},
        {"action_mode": "wrong", "seed": 0},
        {"action_mode": "direct", "seed": 1},
    ]
    client = make_client(n_workers=2, dashboard_address=":0")
    try:
        client.run(importlib.import_module, "rltutorial.sweep.studies")  # warm up
        frame = run_sweep(
            "training",
            points,
            client,
            progress=False,
            simulate_kwargs=study_kwargs(tmp_path),
        )
    finally:
        client.close()
        gc.collect()
    assert frame["status"].tolist() == ["ok", "failed", "ok"]
    assert "'wrong'" in frame["error"].iloc[1] and "'delta'" in frame["error"].iloc[1]
    assert frame["worker"].iloc[[0, 2]].str.startswith("tcp://").all()
    for row in frame.iloc[[0, 2]].itertuples():
        agent = Agent.from_folder(row.agent_folder)
        assert agent.config["action_mode"] == row.action_mode
        assert row.agent_folder.startswith(str(tmp_path / "models"))
        assert row.n_episodes == EPISODES and not math.isnan(row.median_mae)
    assert len(_visible(tmp_path / "models")) == 2
