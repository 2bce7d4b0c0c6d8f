"""python -m rltutorial: list, evaluate and train; user errors exit with code 2."""

import subprocess
import sys

import pytest

from rltutorial.__main__ import main
from rltutorial.agents import Agent


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """Temporary models/runs/recordings with one untrained agent."""
    for name in ("MODELS", "RUNS", "RECORDINGS"):
        monkeypatch.setenv(f"RLTUTORIAL_{name}", str(tmp_path / name.lower()))
    Agent.untrained(name="Betty Gordon").save()
    return tmp_path


def test_list_shows_agents(zoo, capsys):
    """`list` prints the agents of the models folder."""
    assert main(["list"]) == 0
    assert "Betty Gordon" in capsys.readouterr().out


def test_evaluate_prints_metrics(zoo, capsys):
    """`evaluate NAME -n 3` prints the metrics and the behaviour note."""
    assert main(["evaluate", "betty gordon", "-n", "3"]) == 0
    output = capsys.readouterr().out
    assert "3 episodes" in output and "success_rate" in output


def test_unknown_agent_exits_2_with_message(zoo, capsys):
    """An unknown name ends with exit code 2 and a suggestion, no traceback."""
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "Betty Gordn"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "Did you mean 'Betty Gordon'" in error and "Traceback" not in error


def test_train_from_yaml(zoo, capsys):
    """`train --config FILE` trains and saves the agent named in the file."""
    config = zoo / "tiny.yaml"
    config.write_text(
        "run_name: Cli Agent\nn_envs: 2\nn_steps: 25\nbatch_size: 50\n"
        "total_timesteps: 50\ntime_limit: 5\neval_every: null\n"
    )
    assert main(["train", "--config", str(config), "--episodes", "2"]) == 0
    assert (zoo / "models" / "Cli Agent" / "policy.pt").is_file()


def test_bad_config_and_missing_file_exit_2(zoo, capsys):
    """Invalid configs and missing files are user errors (exit code 2)."""
    bad = zoo / "bad.yaml"
    bad.write_text("reward_mode: sum_of_pixel\n")
    for argv in (["train", "--config", str(bad)], ["train", "--config", "nope.yaml"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "Did you mean 'sum_of_pixels'" in capsys.readouterr().err


def test_module_entry_point_has_no_traceback(zoo):
    """Run as a process, a user error prints one message and exits with 2."""
    result = subprocess.run(
        [sys.executable, "-m", "rltutorial", "evaluate", "Nobody"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Unknown agent 'Nobody'" in result.stderr
    assert "Traceback" not in result.stderr
