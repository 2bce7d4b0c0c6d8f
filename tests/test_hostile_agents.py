"""Hostile and damaged agent files, concurrent trainings, unreadable training logs.

Every case loaded silently, failed deep inside torch/numpy/pandas or lost a training;
each must now end in a ValueError (or FileExistsError) naming the file or the run.
"""

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import rltutorial
from rltutorial import load_agent, save_config, train
from rltutorial.__main__ import main
from rltutorial.agents import Agent, saving
from rltutorial.agents import storage as agent_io
from rltutorial.agents.manifest import write_manifest
from rltutorial.normalization import NormalizationStats

TINY = {
    "n_envs": 2,
    "n_steps": 25,
    "batch_size": 50,
    "n_epochs": 1,
    "total_timesteps": 100,
    "time_limit": 5,
    "eval_every": None,
    "seed": 0,
}
GOOD_STATS = {"mean": [0.0] * 9, "var": [1.0] * 9, "count": 10.0, "clip_obs": 10.0}


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Models, runs and recordings in a temporary folder."""
    for name in ("MODELS", "RUNS", "RECORDINGS"):
        monkeypatch.setenv(f"RLTUTORIAL_{name}", str(tmp_path / name.lower()))
    return tmp_path


@pytest.fixture
def kim(folders):
    """The folder of a saved untrained agent 'Kim'."""
    return Agent.untrained(name="Kim", seed=1).save()


def _edit(folder: Path, name: str, text: str) -> None:
    """Replace a file and record it in the manifest (a deliberate edit, so that only
    the check of its contents can object)."""
    (folder / name).write_text(text)
    write_manifest(folder)


def _normalised(folder: Path, stats: dict) -> None:
    """Make the agent of ``folder`` normalise its observations with ``stats``."""
    config = agent_io.read_config(folder)
    save_config({**config, "normalize_observation": True}, folder / "config.yaml")
    _edit(folder, agent_io.NORMALIZATION_FILE, json.dumps(stats))


def test_valid_statistics_load(kim):
    """The baseline of the cases below: statistics of 9 values load and are used."""
    _normalised(kim, GOOD_STATS)
    assert load_agent("Kim").normalization.count == 10.0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"mean": [0.0], "var": [1.0]}, "1 observation values.*observes 9"),
        ({"clip_obs": -5.0}, "clip_obs = -5.0 must be a finite number > 0"),
        ({"mean": [float("nan")] + [0.0] * 8}, r"mean\[0\] = nan is not a finite"),
        ({"var": [1.0] * 8 + [-1.0]}, r"var\[8\] = -1 is negative"),
        ({"epsilon": 0.0}, "epsilon = 0.0 must be"),
        ({"count": 0}, "count = 0 must be"),
        ({"mean": ["0"] * 9}, "mean must be a non-empty list of numbers"),
    ],
)
def test_bad_statistics_are_refused_by_name(kim, change, message):
    """A 1-value normaliser, clip_obs < 0, NaN mean, negative variance, zero epsilon or
    count, or text values are refused at load, naming normalization.json and the field.
    """
    _normalised(kim, {**GOOD_STATS, **change})
    with pytest.raises(ValueError, match=r"normalization\.json") as error:
        load_agent("Kim")
    assert error.match(message)


def test_statistics_refuse_observations_of_another_size():
    """Normalising a 9-value observation with 1-value statistics is refused, not
    broadcast."""
    stats = NormalizationStats([0.0], [1.0], 1.0)
    with pytest.raises(ValueError, match="1 observation values"):
        stats.normalize(np.zeros(9))


def test_non_finite_weights_are_refused_by_name(folders):
    """NaN weights (consistently saved) are refused at load, naming policy.pt and the
    tensor, instead of failing at first use inside torch."""
    agent = Agent.untrained(seed=1)
    state = agent.policy.state_dict()
    state["action_net.bias"] = torch.full_like(state["action_net.bias"], float("nan"))
    saving.write_agent_folder(folders / "models" / "Kim", agent.config, state, None, {})
    with pytest.raises(ValueError, match=r"policy\.pt: tensor 'action_net\.bias'"):
        load_agent("Kim")


def test_metrics_must_be_an_object(kim):
    """A metrics.json holding a list is refused, naming the file."""
    _edit(kim, agent_io.METRICS_FILE, "[1, 2, 3]")
    with pytest.raises(ValueError, match=r"metrics\.json holds a JSON list"):
        load_agent("Kim")


def test_empty_config_does_not_load_with_defaults(kim):
    """An empty config.yaml is refused, naming the keys an agent's config records
    (it used to load with the defaults, e.g. another reward mode)."""
    _normalised(kim, GOOD_STATS)
    _edit(kim, agent_io.CONFIG_FILE, "")
    with pytest.raises(ValueError, match=r"config\.yaml lacks 43 key.*action_mode"):
        load_agent("Kim")


def test_cut_short_config_names_the_missing_keys(kim):
    """A config.yaml cut after its first lines is refused, naming what is missing."""
    _normalised(kim, GOOD_STATS)
    lines = (kim / agent_io.CONFIG_FILE).read_text().splitlines(keepends=True)
    _edit(kim, agent_io.CONFIG_FILE, "".join(lines[:3]))
    with pytest.raises(ValueError, match="lacks .*reward_mode"):
        load_agent("Kim")


def test_required_config_keys_are_config_keys():
    """Every key an agent must record is a config key save_config writes."""
    from rltutorial.config import CONFIG_KEYS

    assert set(agent_io.REQUIRED_CONFIG_KEYS) <= set(CONFIG_KEYS)


def test_missing_weights_are_named(kim):
    """An agent whose policy.pt is gone is reported as such, not as an unknown agent."""
    (kim / agent_io.WEIGHTS_FILE).unlink()
    with pytest.raises(ValueError, match=r"Kim/policy\.pt is missing"):
        load_agent("Kim")


@pytest.mark.parametrize("name", ["x" * 300, "line\nbreak", "nul\0byte"])
def test_names_that_cannot_be_files_are_refused(name):
    """Overlong names and control characters are refused before anything is written."""
    with pytest.raises(ValueError, match="cannot name a folder"):
        agent_io.check_agent_name(name)


MONITOR = (
    '#{"t_start": 0.0, "env_id": null}\n'
    "r,l,t,is_success\n"
    "-1.0,5,0.1,False\n"
    "-2.0,5,0.2,False-3.0,5,0.3,True\n"  # two processes' rows run together
    "-1.5,5,0.4,False\n"
)


def test_unreadable_monitor_log_keeps_the_agent(tmp_path):
    """A monitor log pandas cannot parse (interleaved rows) does not stop the save:
    the agent is written, with a warning and the reason in metrics.json."""
    (tmp_path / "monitor.csv").write_text(MONITOR)
    agent = Agent.untrained(seed=1)
    with pytest.warns(UserWarning, match="without its training log"):
        folder = saving.write_agent_folder(
            tmp_path / "Kim",
            agent.config,
            agent.policy.state_dict(),
            None,
            {"agent": "Kim"},
            tmp_path / "monitor.csv",
        )
    loaded = Agent.from_folder(folder)
    assert "ParserError" in loaded.metrics["monitor_error"]
    assert not (folder / agent_io.MONITOR_FILE).exists()


def test_training_survives_an_unreadable_monitor_log(folders, monkeypatch):
    """A finished training whose monitor log cannot be read is saved all the same."""
    read_csv = pd.read_csv

    def failing_read_csv(path, *args, **kwargs):
        if str(path).endswith("monitor.csv"):
            raise pd.errors.ParserError("Expected 4 fields in line 4, saw 7")
        return read_csv(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", failing_read_csv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        train(
            {**TINY, "run_name": "Logless"},
            evaluation_episodes=0,
            recorded_episodes=0,
            progress_bar=False,
        )
    assert "Expected 4 fields" in load_agent("Logless").metrics["monitor_error"]


def test_a_killed_runs_logs_are_cleared_by_the_next_run(folders):
    """runs/<name>/ left by a killed training (no agent saved) is cleared when the name
    is trained again, so old TensorBoard logs do not mix with the new ones."""
    stale = folders / "runs" / "Rerun" / "tensorboard_1" / "events.out.killed"
    stale.parent.mkdir(parents=True)
    stale.write_text("from a killed run")
    train(
        {**TINY, "run_name": "Rerun"},
        evaluation_episodes=0,
        recorded_episodes=0,
        progress_bar=False,
    )
    assert not stale.exists()
    assert load_agent("Rerun").name == "Rerun"


def test_run_lock_refuses_a_second_holder(tmp_path):
    """While one process trains a name, taking its run lock again fails at once."""
    from rltutorial.agents.swap import RunInProgressError, run_lock

    with run_lock(tmp_path, "Twin"):
        start = time.perf_counter()
        with pytest.raises(RunInProgressError, match="being trained by another"):
            with run_lock(tmp_path, "Twin"):
                pass
        assert time.perf_counter() - start < 5
    with run_lock(tmp_path, "Twin"):  # free again afterwards
        pass


def test_two_cli_trainings_of_one_name(folders, capsys):
    """`train --run-name Twin` twice at once: the second exits with code 2 at once,
    naming the run in progress; the first finishes and its agent loads."""
    config = folders / "tiny.yaml"
    config.write_text(
        "n_envs: 2\nn_steps: 25\nbatch_size: 50\nn_epochs: 1\ntotal_timesteps: 1000\n"
        "time_limit: 5\neval_every: null\n"
    )
    argv = ["train", "--config", str(config), "--run-name", "Twin", "--episodes", "2"]
    root = str(Path(rltutorial.__file__).resolve().parents[1])
    first = subprocess.Popen(
        [sys.executable, "-m", "rltutorial", *argv],
        env={**os.environ, "PYTHONPATH": root},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 300
        while not (folders / "runs" / "Twin").is_dir() and first.poll() is None:
            assert time.time() < deadline, "the first training did not start"
            time.sleep(0.05)
        start = time.perf_counter()
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        elapsed = time.perf_counter() - start
    finally:
        output, errors = first.communicate(timeout=600)
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "'Twin' is being trained by another process" in message, message
    assert elapsed < 10
    assert first.returncode == 0, errors
    assert load_agent("Twin").metrics["training"]["timesteps"] == 1000
