"""Hostile command lines: for every bad argument, file or agent, ``python -m
rltutorial`` prints one line naming the problem and exits with code 2, before any
training or sweep starts; never a traceback, a silent result or a flood.

The command line runs in this process where only its exit code and stderr matter,
and as ``python -m rltutorial`` where a traceback would show. Helpers are in
hostile_inputs.py; the config and YAML cases in test_hostile.py.
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from hostile_inputs import (
    ALIASED_TINY,
    NO_ALIASES,
    PACKAGE_ROOT,
    PROG,
    TINY,
    assert_one_line_error,
    billion_laughs,
    peak_mb,
    run_main,
    run_module,
    write,
)

from rltutorial.__main__ import main


@pytest.fixture
def shipped_agent(folders):
    """A copy of the shipped agent Sean Kelley (it normalises observations)."""
    source = PACKAGE_ROOT / "models" / "Sean Kelley"
    folder = folders / "models" / "Sean Kelley"
    shutil.copytree(source, folder)
    return folder


def test_billion_laughs_train_config_is_one_line(folders, capsys):
    """``train --config`` of a billion laughs exits with 2 and one short line naming
    the file, in little memory, before any training."""
    path = write(folders, "laughs.yaml", billion_laughs(9))
    raised, peak = peak_mb(lambda: main(["train", "--config", str(path)]))
    stderr = capsys.readouterr().err
    assert isinstance(raised, SystemExit)
    assert_one_line_error(raised.code, stderr, "laughs.yaml")
    assert peak < 5 and len(stderr) < 2000
    assert not (folders / "runs").exists()


def test_sweep_command_with_alias_file_exits_2(tmp_path, capsys):
    """``sweep --file`` of a file with aliases ends with one line and exit code 2; no
    point runs and no table is written."""
    path = write(
        tmp_path, "s.yaml", "backend: cheetah\ngrid:\n  q1: &v [0]\n  q2: *v\n"
    )
    out = tmp_path / "scan.csv"
    code, stderr = run_main(["sweep", "--file", str(path), "--out", str(out)], capsys)
    assert_one_line_error(code, stderr, "s.yaml", NO_ALIASES)
    assert not out.exists()


@pytest.mark.parametrize(
    "options,words",
    [
        (["--grid", "q1=0:1:1000000000"], ["q1", "1,000,000"]),
        (["--grid", "q1=0:1:1000", "--grid", "q2=0:1:1000", "--grid", "q3=0:1:1000"],
         ["1,000,000,000 points"]),
        (["--grid", "q1=0,1", "--retries", "1000000000"], ["retries", "100"]),
        (["--grid", "q1=0,1", "--timeout", "inf"], ["timeout", "inf"]),
        (["--grid", "q1=0,1", "--workers", "100000"], ["--workers", "100000"]),
    ],
    ids=["axis-1e9", "grid-1e9", "retries-1e9", "timeout-inf", "workers-1e5"],
)  # fmt: skip
def test_sweep_of_hostile_size_exits_2_before_running(tmp_path, capsys, options, words):
    """A billion-point axis or grid, a billion retries, an infinite timeout or 100,000
    local workers: one line naming the limit, exit code 2, within seconds, no table."""
    out = tmp_path / "scan.csv"
    argv = ["sweep", "--backend", "cheetah", *options, "--out", str(out)]
    start = time.perf_counter()
    code, stderr = run_main(argv, capsys)
    assert_one_line_error(code, stderr, *words)
    assert time.perf_counter() - start < 10 and not out.exists()


# ----------------------------------------------------------------- command line
def test_evaluate_negative_seed_has_no_traceback(zoo):
    """``evaluate NAME --seed -1`` (a process): one line naming --seed, exit code 2."""
    code, stderr = run_module(["evaluate", "Betty Gordon", "--seed", "-1"], zoo)
    assert_one_line_error(code, stderr, "--seed", "-1")


@pytest.mark.parametrize("n", ["0", "-3"])
def test_evaluate_without_episodes_exits_2(zoo, capsys, n):
    """``evaluate NAME -n 0`` or ``-n -3``: one line naming -n, exit code 2."""
    code, stderr = run_main(["evaluate", "Betty Gordon", "-n", n], capsys)
    assert_one_line_error(code, stderr, "-n", n)


def test_evaluate_a_billion_episodes_is_refused_at_once(zoo):
    """``evaluate NAME -n 1000000000`` (a process) is refused within seconds, naming
    the largest number of episodes, instead of building a billion environments."""
    start = time.perf_counter()
    code, stderr = run_module(["evaluate", "Betty Gordon", "-n", "1000000000"], zoo, 60)
    assert_one_line_error(code, stderr, "-n", "10,000")
    assert time.perf_counter() - start < 60


def test_argument_of_wrong_type_is_one_line(zoo, capsys):
    """A usage error found by the parser (``-n abc``) is one line, exit code 2."""
    code, stderr = run_main(["evaluate", "Betty Gordon", "-n", "abc"], capsys)
    assert_one_line_error(code, stderr, "-n", "abc")


def test_train_long_run_name_has_no_traceback(folders):
    """``train --run-name`` of 300 characters (a process): one line, exit code 2, no
    folder made and no training."""
    config = write(folders, "tiny.yaml", TINY)
    argv = ["train", "--config", str(config), "--run-name", "A" * 300]
    code, stderr = run_module(argv, folders)
    assert_one_line_error(code, stderr, "--run-name", "200 bytes")
    assert not (folders / "runs").exists() and not (folders / "models").exists()


@pytest.mark.parametrize(
    "name",
    ["", "   ", "../escape", ".hidden"],
    ids=["empty", "blank", "path", "hidden"],
)
def test_train_unusable_run_name_exits_2_before_training(folders, capsys, name):
    """``--run-name ""`` (no longer ignored), blank, with a path or hidden: one line,
    exit code 2, and nothing trained or saved."""
    config = write(folders, "tiny.yaml", TINY + "run_name: From File\n")
    argv = ["train", "--config", str(config), "--run-name", name]
    code, stderr = run_main(argv, capsys)
    assert_one_line_error(code, stderr, "--run-name")
    assert not (folders / "runs").exists() and not (folders / "models").exists()


@pytest.mark.parametrize("episodes", ["-5", "1000000000"])
def test_train_bad_episodes_exits_2_before_training(folders, capsys, episodes):
    """``train --episodes -5`` (or a billion) is refused before training starts: no
    run folder, no agent."""
    config = write(folders, "tiny.yaml", TINY + "run_name: Neg\n")
    argv = ["train", "--config", str(config), "--episodes", episodes]
    code, stderr = run_main(argv, capsys)
    assert_one_line_error(code, stderr, "--episodes", episodes)
    assert not (folders / "runs").exists() and not (folders / "models").exists()


@pytest.mark.parametrize(
    "name,content,words",
    [
        ("folder", None, ["folder", "is a folder"]),
        ("binary.yaml", b"\x00\xff\xfe\x89PNG", ["binary.yaml", "UTF-8"]),
        ("alias.yaml", ALIASED_TINY.encode(), ["alias.yaml", NO_ALIASES]),
        ("huge.yaml", b"# " + b"x" * 1_100_000, ["huge.yaml", "bytes"]),
        ("deep.yaml", b"n_envs: " + b"[" * 5000 + b"]" * 5000, ["deep.yaml", "nested"]),
    ],
    ids=["folder", "binary", "alias", "huge", "deep"],
)
def test_train_unreadable_config_exits_2(folders, capsys, name, content, words):
    """``train --config`` of a folder, a binary file, a file with aliases, a file over
    1 MB or one nested 5,000 deep: one line naming the file, exit code 2."""
    path = folders / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    code, stderr = run_main(["train", "--config", str(path)], capsys)
    assert_one_line_error(code, stderr, *words)
    assert not (folders / "runs").exists()


def test_damaged_metrics_has_no_traceback(zoo):
    """``evaluate NAME`` (a process) whose metrics.json holds a list: one line naming
    the file, exit code 2 (it was a TypeError's traceback)."""
    (zoo / "models" / "Betty Gordon" / "metrics.json").write_text("[1, 2]")
    code, stderr = run_module(["evaluate", "Betty Gordon", "-n", "2"], zoo)
    assert_one_line_error(code, stderr, "metrics.json")


def _flip_tensor_bytes(path: Path, n: int = 400) -> None:
    """Invert ``n`` bytes inside the largest tensor entry of a torch zip file."""
    with zipfile.ZipFile(path) as archive:
        entry = max(archive.infolist(), key=lambda info: info.compress_size)
    data = bytearray(path.read_bytes())
    header = entry.header_offset  # local header: 30 bytes, then name and extra field
    name_length = int.from_bytes(data[header + 26 : header + 28], "little")
    extra_length = int.from_bytes(data[header + 28 : header + 30], "little")
    start = header + 30 + name_length + extra_length
    for i in range(start, start + min(n, entry.compress_size)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _normalization(folder: Path, **changes) -> None:
    path = folder / "normalization.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.mark.parametrize(
    "damage,file",
    [
        (lambda f: _normalization(f, mean=[0.0], var=[1.0]), "normalization.json"),
        (lambda f: _normalization(f, clip_obs=-5.0), "normalization.json"),
        (lambda f: _normalization(f, mean=[float("nan")] * 9), "normalization.json"),
        (lambda f: _normalization(f, var=[-1.0] * 9), "normalization.json"),
        (lambda f: _flip_tensor_bytes(f / "policy.pt"), "policy.pt"),
        (lambda f: (f / "policy.pt").unlink(), "policy.pt"),
        (lambda f: (f / "config.yaml").write_text(""), "config.yaml"),
    ],
    ids=[
        "one-element-stats",
        "negative-clip",
        "nan-mean",
        "negative-var",
        "flipped-weights",
        "missing-weights",
        "empty-config",
    ],
)
def test_damaged_agent_files_exit_2_naming_the_file(
    shipped_agent, capsys, damage, file
):
    """``evaluate`` of an agent with damaged statistics, weights or config: one line
    naming the damaged file and exit code 2, never a silently worse evaluation."""
    damage(shipped_agent)
    code, stderr = run_main(["evaluate", "Sean Kelley", "-n", "2"], capsys)
    assert_one_line_error(code, stderr, file)


def test_other_loading_errors_name_the_agent_folder(zoo, capsys, monkeypatch):
    """Whatever else reading an agent's files raises (here a TypeError, as a
    metrics.json holding a list once did) ends as one line naming the agent's folder."""

    def damaged(name):
        raise TypeError("cannot convert dictionary update sequence element #0")

    monkeypatch.setattr("rltutorial.agents.zoo.load_agent", damaged)
    code, stderr = run_main(["evaluate", "Betty Gordon", "-n", "2"], capsys)
    assert_one_line_error(code, stderr, "Betty Gordon", "TypeError", "damaged")


def test_internal_error_keeps_its_traceback_and_says_so(zoo, capsys, monkeypatch):
    """An unexpected error inside a command (a bug, not the input) prints its
    traceback and a line saying it is an internal error; exit code 3."""

    def broken(*args, **kwargs):
        raise AttributeError("a bug")

    monkeypatch.setattr("rltutorial.evaluation.evaluate_agent", broken)
    code, stderr = run_main(["evaluate", "Betty Gordon", "-n", "2"], capsys)
    assert code == 3
    assert "Traceback" in stderr and "AttributeError: a bug" in stderr
    assert (
        stderr.strip().splitlines()[-1].startswith(f"{PROG} evaluate: internal error")
    )
