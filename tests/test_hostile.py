"""Hostile and out-of-range configs, YAML files and command lines: an error, never a
silent change, a flood or a traceback.

Each test is one case: what a user or an attacker might write, and the one clear
error it must give (naming the key or the file and what is valid), quickly and in
little memory. The command line is run in this process where only its exit code and
stderr matter, and as ``python -m rltutorial`` where the traceback would show.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import rltutorial
from rltutorial import load_config, validate_config
from rltutorial.__main__ import main
from rltutorial.agents import Agent
from rltutorial.cli.sweep_spec import read_sweep_file

PROG = "python -m rltutorial"
_FOLDERS = ("models", "runs", "recordings")
PACKAGE_ROOT = Path(rltutorial.__file__).resolve().parents[1]
#: Tiny training settings: a run of these takes seconds.
TINY = (
    "n_envs: 2\nn_steps: 25\nbatch_size: 50\ntotal_timesteps: 50\ntime_limit: 5\n"
    "eval_every: null\n"
)

#: What the bounded YAML loader says of an alias.
NO_ALIASES = "aliases (*name) are not allowed"
#: TINY with one value given through an alias.
ALIASED_TINY = TINY.replace("time_limit: 5", "time_limit: &t 5\nthreshold_hold: *t")


def billion_laughs(depth: int, key: str = "n_envs") -> str:
    """YAML whose value under ``key`` nests ``depth`` levels of 9 aliases each
    (9**depth strings once expanded) in a few hundred bytes."""
    names = "abcdefghijklmnop"
    levels = ["&a [l,l,l,l,l,l,l,l,l]"] + [
        f"&{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]"
        for i in range(1, depth)
    ]
    return f"{key}: [" + ",".join(levels) + "]\n"


def _peak_mb(action) -> tuple[BaseException | None, float]:
    """Run ``action()``; return what it raised and the peak of Python memory in MB."""
    tracemalloc.start()
    try:
        action()
        raised = None
    except BaseException as error:  # noqa: BLE001 (SystemExit included)
        raised = error
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return raised, peak


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _run_main(argv: list[str], capsys) -> tuple[int, str]:
    """``main(argv)`` in this process: its exit code and what it wrote on stderr."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def _run_module(argv: list[str], root: Path, timeout: float = 120) -> tuple[int, str]:
    """``python -m rltutorial ARGV`` with its folders under ``root``: exit code, stderr."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PACKAGE_ROOT),
        "RLTUTORIAL_FAST": "1",
        "MPLBACKEND": "Agg",
        **{f"RLTUTORIAL_{n.upper()}": str(root / n) for n in _FOLDERS},
    }
    result = subprocess.run(
        [sys.executable, "-m", "rltutorial", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=root,
    )
    return result.returncode, result.stderr


def assert_one_line_error(code: int, stderr: str, *words: str) -> None:
    """Exit code 2, one error line (other lines only one-line warnings of the
    command), no traceback, and the error line names ``words``."""
    assert code == 2, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1 and all(line.startswith(PROG) for line in lines), lines
    for word in words:
        assert word in errors[0], errors[0]


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Models, runs and recordings under tmp_path (the only zoo searched)."""
    for name in _FOLDERS:
        monkeypatch.setenv(f"RLTUTORIAL_{name.upper()}", str(tmp_path / name))
    monkeypatch.setenv("RLTUTORIAL_FAST", "1")
    return tmp_path


@pytest.fixture
def zoo(folders):
    """A zoo holding one untrained agent, 'Betty Gordon'."""
    Agent.untrained(name="Betty Gordon").save()
    return folders


@pytest.fixture
def shipped_agent(folders):
    """A copy of the shipped agent Sean Kelley (it normalises observations)."""
    source = PACKAGE_ROOT / "models" / "Sean Kelley"
    folder = folders / "models" / "Sean Kelley"
    shutil.copytree(source, folder)
    return folder


# --------------------------------------------------------------- billion laughs
@pytest.mark.parametrize("depth", [9, 10])
def test_billion_laughs_config_is_refused_in_little_memory(tmp_path, depth):
    """A config of a few hundred bytes of nested aliases (9**9 or 9**10 strings once
    expanded) is refused naming the file, using under 5 MB and a second."""
    path = _write(tmp_path, f"laughs{depth}.yaml", billion_laughs(depth))
    assert path.stat().st_size < 400
    start = time.perf_counter()
    raised, peak = _peak_mb(lambda: load_config(path))
    assert isinstance(raised, ValueError) and str(path) in str(raised)
    assert NO_ALIASES in str(raised) and len(str(raised)) < 1000
    assert peak < 5 and time.perf_counter() - start < 5


def test_billion_laughs_agent_config_is_refused_in_little_memory(zoo):
    """An agent whose config.yaml is a billion laughs fails to load with an error
    naming config.yaml, using under 5 MB."""
    from rltutorial import load_agent

    folder = zoo / "models" / "Betty Gordon"
    _write(folder, "config.yaml", billion_laughs(9))
    raised, peak = _peak_mb(lambda: load_agent("Betty Gordon"))
    assert isinstance(raised, ValueError) and "config.yaml" in str(raised)
    assert peak < 5 and len(str(raised)) < 2000


def test_billion_laughs_train_config_is_one_line(folders, capsys):
    """``train --config`` of a billion laughs exits with 2 and one short line naming
    the file, in little memory, before any training."""
    path = _write(folders, "laughs.yaml", billion_laughs(9))
    raised, peak = _peak_mb(lambda: main(["train", "--config", str(path)]))
    stderr = capsys.readouterr().err
    assert isinstance(raised, SystemExit)
    assert_one_line_error(raised.code, stderr, "laughs.yaml")
    assert peak < 5 and len(stderr) < 2000
    assert not (folders / "runs").exists()


# ------------------------------------------------------------------- YAML files
BAD_YAML = [
    ("dup.yaml", "n_envs: 2\nn_envs: 3\n", ["duplicate key 'n_envs'"]),
    ("list.yaml", "- 1\n- 2\n", ["must be a dict", "list"]),
    ("scalar.yaml", "42\n", ["must be a dict", "int"]),
    ("deep.yaml", "n_envs: " + "[" * 5000 + "]" * 5000 + "\n", ["nested"]),
    ("deepmap.yaml", "n_envs: " + "{a: " * 2000 + "1" + "}" * 2000, ["nested"]),
    ("many.yaml", "net_arch: [" + ",".join(["1"] * 20_000) + "]\n", ["10,000 values"]),
    ("digits.yaml", "n_envs: " + "9" * 5000 + "\n", ["digits"]),
    ("merge.yaml", "base: &b {n_envs: 2}\n<<: *b\n", [NO_ALIASES]),
]


@pytest.mark.parametrize(
    "name,text,words", BAD_YAML, ids=[case[0] for case in BAD_YAML]
)
def test_bad_yaml_config_names_the_file(tmp_path, name, text, words):
    """Duplicate keys, a list or a number instead of a mapping, nesting 5,000 deep,
    20,000 values, a 5,000-digit integer and merge keys each give a ValueError naming
    the file and the problem, within seconds (no RecursionError, no bare int error)."""
    path = _write(tmp_path, name, text)
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        load_config(path)
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert str(path) in message and len(message) < 1000
    for word in words:
        assert word in message


def test_binary_config_names_the_file(tmp_path):
    """A binary file as config gives a ValueError naming it, not a UnicodeDecodeError."""
    path = tmp_path / "image.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(ValueError, match="image.yaml") as info:
        load_config(path)
    assert not isinstance(info.value, UnicodeDecodeError)


def test_oversized_config_is_refused_unread(tmp_path):
    """A config file over 1 MB is refused by its size, naming the file."""
    path = _write(tmp_path, "big.yaml", "# " + "x" * 1_100_000 + "\n")
    with pytest.raises(ValueError, match=r"big.yaml has 1,100,003 bytes"):
        load_config(path)


def test_config_path_that_is_a_folder_names_it(tmp_path):
    """A folder given as config path gives an OSError saying it is a folder."""
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_config(tmp_path)


def test_exponent_numbers_are_numbers(tmp_path):
    """``3e-4`` and ``1e9`` in a YAML file are numbers (YAML 1.1 would read text): the
    learning rate is used, and 1e9 envs are refused as a number out of range."""
    config = load_config(_write(tmp_path, "lr.yaml", "learning_rate: 3e-4\n"))
    assert config["learning_rate"] == pytest.approx(3e-4)
    with pytest.raises(ValueError, match=r"'n_envs' must be an integer in \[1, 4096\]"):
        load_config(_write(tmp_path, "n.yaml", "n_envs: 1e9\n"))


# ------------------------------------------------------------ config values
@pytest.mark.parametrize(
    "config,match",
    [
        ({"magnet_init_values": [1e9, 0, 0, 0, 0]}, r"'magnet_init_values'.*±\[72"),
        ({"target_beam_values": [1e6, 0, 0, 0]}, r"'target_beam_values'.*screen"),
        ({"n_envs": 10**9}, r"'n_envs' must be an integer in \[1, 4096\]"),
        ({"n_envs": 1e9}, r"'n_envs' must be an integer in \[1, 4096\]"),
        ({"n_steps": 10**9}, r"'n_steps' must be an integer in \[1, 100000\]"),
        ({"total_timesteps": 10**12}, r"'total_timesteps'.*\[1, 1e\+09\]"),
        ({"net_arch": [1_000_000]}, r"'net_arch'.*\[1, 4096\]"),
        ({"net_arch": [64] * 9}, r"'net_arch'.*1 to 8 integers"),
        (
            {"n_envs": 2, "n_steps": 5, "batch_size": 100},
            r"'batch_size'.*n_envs × n_steps = 10",
        ),
        ({"filter_action": [True]}, r"'filter_action'.*distinct items"),
        ({"filter_action": [0.0, 1]}, r"'filter_action'.*distinct items"),
        ({1: 2}, r"Unknown config key\(s\) 1"),
        ({"partial_observability": {1: 2}}, r"'partial_observability' setting"),
        (
            {"incoming_values": [-1e8, 0, 0, 0, 0, 1e-4, 1e-5, 1e-4, 1e-5, 1e-5, 1e-4]},
            r"'incoming_values'.*energy.*> 0",
        ),
        (
            {"incoming_values": [1e8, 0, 0, 0, 0, -1e-4, 1e-5, 1e-4, 1e-5, 1e-5, 1e-4]},
            r"'incoming_values'.*sigma_x.*> 0",
        ),
        ({"misalignment_values": [1.0] + [0.0] * 7}, r"'misalignment_values'.*0\.01"),
        ({"n_envs": 10**400}, r"'n_envs' must be an integer"),
        ({"gamma": 10**400}, r"'gamma' must be a number"),
        ({"magnet_init_values": [10**400, 0, 0, 0, 0]}, r"finite numbers"),
        ({"run_name": "A" * 300}, r"'run_name'.*200 bytes"),
        ({"run_name": ""}, r"'run_name'"),
        ({"run_name": "../../etc"}, r"'run_name'"),
        ({"run_name": "a\x00b"}, r"'run_name'"),
    ],
    ids=[
        "magnets-1e9",
        "target-1e6-m",
        "n_envs-1e9-int",
        "n_envs-1e9-float",
        "n_steps-1e9",
        "timesteps-1e12",
        "net_arch-1e6-wide",
        "net_arch-9-layers",
        "batch-over-rollout",
        "filter_action-True",
        "filter_action-0.0",
        "non-string-key",
        "non-string-setting-key",
        "negative-energy",
        "negative-sigma",
        "misalignment-1-m",
        "n_envs-10**400",
        "gamma-10**400",
        "magnets-10**400",
        "run_name-300-chars",
        "run_name-empty",
        "run_name-path",
        "run_name-nul",
    ],
)
def test_out_of_range_config_values_are_refused(config, match):
    """Each value out of its range, of the wrong kind or unsafe raises a ValueError
    naming the key and the valid range (not a TypeError, OverflowError or a clip)."""
    with pytest.raises(ValueError, match=match) as info:
        validate_config(config)
    assert len(str(info.value)) < 1200


@pytest.mark.parametrize(
    "config",
    [
        {"reward_mode": "x" * 1_000_000},
        {"x" * 1_000_000: 1},
        {"net_arch": list(range(1_000_000))},
        {"partial_observability": {"x" * 1_000_000: 1}},
    ],
    ids=["long-string", "long-key", "long-list", "long-setting-key"],
)
def test_huge_values_give_short_messages_quickly(config):
    """A million-character string or a million-item list gives a message of at most a
    few hundred characters of the value, within seconds."""
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        validate_config(config)
    assert len(str(info.value)) < 1200
    assert time.perf_counter() - start < 10


# ------------------------------------------------------------------ sweep files
@pytest.mark.parametrize(
    "text,match",
    [
        ("backend: cheetah\ngrid:\n  q1: &v [0, 1]\n  q2: *v\n", NO_ALIASES),
        ("backend: cheetah\ngrid:\n  q1: [0]\n  q1: [1]\n", "duplicate key 'q1'"),
        ("backend: cheetah\ngrid:\n  " + billion_laughs(9, key="q1"), NO_ALIASES),
    ],
    ids=["alias", "duplicate", "billion-laughs"],
)
def test_sweep_file_with_aliases_or_duplicates_is_refused(tmp_path, text, match):
    """A sweep file with aliases or a key given twice is refused naming the file."""
    path = _write(tmp_path, "sweep.yaml", text)
    with pytest.raises(ValueError, match=re.escape(match)) as info:
        read_sweep_file(path)
    assert str(path) in str(info.value)


def test_sweep_command_with_alias_file_exits_2(tmp_path, capsys):
    """``sweep --file`` of a file with aliases ends with one line and exit code 2; no
    point runs and no table is written."""
    path = _write(
        tmp_path, "s.yaml", "backend: cheetah\ngrid:\n  q1: &v [0]\n  q2: *v\n"
    )
    out = tmp_path / "scan.csv"
    code, stderr = _run_main(["sweep", "--file", str(path), "--out", str(out)], capsys)
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
    code, stderr = _run_main(argv, capsys)
    assert_one_line_error(code, stderr, *words)
    assert time.perf_counter() - start < 10 and not out.exists()


# ----------------------------------------------------------------- command line
def test_evaluate_negative_seed_has_no_traceback(zoo):
    """``evaluate NAME --seed -1`` (a process): one line naming --seed, exit code 2."""
    code, stderr = _run_module(["evaluate", "Betty Gordon", "--seed", "-1"], zoo)
    assert_one_line_error(code, stderr, "--seed", "-1")


@pytest.mark.parametrize("n", ["0", "-3"])
def test_evaluate_without_episodes_exits_2(zoo, capsys, n):
    """``evaluate NAME -n 0`` or ``-n -3``: one line naming -n, exit code 2."""
    code, stderr = _run_main(["evaluate", "Betty Gordon", "-n", n], capsys)
    assert_one_line_error(code, stderr, "-n", n)


def test_evaluate_a_billion_episodes_is_refused_at_once(zoo):
    """``evaluate NAME -n 1000000000`` (a process) is refused within seconds, naming
    the largest number of episodes, instead of building a billion environments."""
    start = time.perf_counter()
    code, stderr = _run_module(
        ["evaluate", "Betty Gordon", "-n", "1000000000"], zoo, 60
    )
    assert_one_line_error(code, stderr, "-n", "10,000")
    assert time.perf_counter() - start < 60


def test_argument_of_wrong_type_is_one_line(zoo, capsys):
    """A usage error found by the parser (``-n abc``) is one line, exit code 2."""
    code, stderr = _run_main(["evaluate", "Betty Gordon", "-n", "abc"], capsys)
    assert_one_line_error(code, stderr, "-n", "abc")


def test_train_long_run_name_has_no_traceback(folders):
    """``train --run-name`` of 300 characters (a process): one line, exit code 2, no
    folder made and no training."""
    config = _write(folders, "tiny.yaml", TINY)
    argv = ["train", "--config", str(config), "--run-name", "A" * 300]
    code, stderr = _run_module(argv, folders)
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
    config = _write(folders, "tiny.yaml", TINY + "run_name: From File\n")
    argv = ["train", "--config", str(config), "--run-name", name]
    code, stderr = _run_main(argv, capsys)
    assert_one_line_error(code, stderr, "--run-name")
    assert not (folders / "runs").exists() and not (folders / "models").exists()


@pytest.mark.parametrize("episodes", ["-5", "1000000000"])
def test_train_bad_episodes_exits_2_before_training(folders, capsys, episodes):
    """``train --episodes -5`` (or a billion) is refused before training starts: no
    run folder, no agent."""
    config = _write(folders, "tiny.yaml", TINY + "run_name: Neg\n")
    argv = ["train", "--config", str(config), "--episodes", episodes]
    code, stderr = _run_main(argv, capsys)
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
    code, stderr = _run_main(["train", "--config", str(path)], capsys)
    assert_one_line_error(code, stderr, *words)
    assert not (folders / "runs").exists()


def test_damaged_metrics_has_no_traceback(zoo):
    """``evaluate NAME`` (a process) whose metrics.json holds a list: one line naming
    the file, exit code 2 (it was a TypeError's traceback)."""
    (zoo / "models" / "Betty Gordon" / "metrics.json").write_text("[1, 2]")
    code, stderr = _run_module(["evaluate", "Betty Gordon", "-n", "2"], zoo)
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
    code, stderr = _run_main(["evaluate", "Sean Kelley", "-n", "2"], capsys)
    assert_one_line_error(code, stderr, file)


def test_other_loading_errors_name_the_agent_folder(zoo, capsys, monkeypatch):
    """Whatever else reading an agent's files raises (here a TypeError, as a
    metrics.json holding a list once did) ends as one line naming the agent's folder."""

    def damaged(name):
        raise TypeError("cannot convert dictionary update sequence element #0")

    monkeypatch.setattr("rltutorial.agents.zoo.load_agent", damaged)
    code, stderr = _run_main(["evaluate", "Betty Gordon", "-n", "2"], capsys)
    assert_one_line_error(code, stderr, "Betty Gordon", "TypeError", "damaged")


def test_internal_error_keeps_its_traceback_and_says_so(zoo, capsys, monkeypatch):
    """An unexpected error inside a command (a bug, not the input) prints its
    traceback and a line saying it is an internal error; exit code 3."""

    def broken(*args, **kwargs):
        raise AttributeError("a bug")

    monkeypatch.setattr("rltutorial.evaluation.evaluate_agent", broken)
    code, stderr = _run_main(["evaluate", "Betty Gordon", "-n", "2"], capsys)
    assert code == 3
    assert "Traceback" in stderr and "AttributeError: a bug" in stderr
    assert (
        stderr.strip().splitlines()[-1].startswith(f"{PROG} evaluate: internal error")
    )
