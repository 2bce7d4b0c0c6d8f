"""Hostile and out-of-range configs and YAML files: an error naming the key or the
file and what is valid, never a silent change, a flood or a crash.

Each test is one case: what a user or an attacker might write in a config or sweep
file, and the one clear error it must give, quickly and in little memory. The command
line's cases are in test_hostile_cli.py; the helpers in hostile_inputs.py.
"""

from __future__ import annotations

import re
import time

import pytest
from hostile_inputs import (
    NO_ALIASES,
    billion_laughs,
    peak_mb,
    write,
)

from rltutorial import load_config, validate_config
from rltutorial.cli.sweep_spec import read_sweep_file


# --------------------------------------------------------------- billion laughs
@pytest.mark.parametrize("depth", [9, 10])
def test_billion_laughs_config_is_refused_in_little_memory(tmp_path, depth):
    """A config of a few hundred bytes of nested aliases (9**9 or 9**10 strings once
    expanded) is refused naming the file, using under 5 MB and a second."""
    path = write(tmp_path, f"laughs{depth}.yaml", billion_laughs(depth))
    assert path.stat().st_size < 400
    start = time.perf_counter()
    raised, peak = peak_mb(lambda: load_config(path))
    assert isinstance(raised, ValueError) and str(path) in str(raised)
    assert NO_ALIASES in str(raised) and len(str(raised)) < 1000
    assert peak < 5 and time.perf_counter() - start < 5


def test_billion_laughs_agent_config_is_refused_in_little_memory(zoo):
    """An agent whose config.yaml is a billion laughs fails to load with an error
    naming config.yaml, using under 5 MB."""
    from rltutorial import load_agent

    folder = zoo / "models" / "Betty Gordon"
    write(folder, "config.yaml", billion_laughs(9))
    raised, peak = peak_mb(lambda: load_agent("Betty Gordon"))
    assert isinstance(raised, ValueError) and "config.yaml" in str(raised)
    assert peak < 5 and len(str(raised)) < 2000


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
    path = write(tmp_path, name, text)
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
    path = write(tmp_path, "big.yaml", "# " + "x" * 1_100_000 + "\n")
    with pytest.raises(ValueError, match=r"big.yaml has 1,100,003 bytes"):
        load_config(path)


def test_config_path_that_is_a_folder_names_it(tmp_path):
    """A folder given as config path gives an OSError saying it is a folder."""
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_config(tmp_path)


def test_exponent_numbers_are_numbers(tmp_path):
    """``3e-4`` and ``1e9`` in a YAML file are numbers (YAML 1.1 would read text): the
    learning rate is used, and 1e9 envs are refused as a number out of range."""
    config = load_config(write(tmp_path, "lr.yaml", "learning_rate: 3e-4\n"))
    assert config["learning_rate"] == pytest.approx(3e-4)
    with pytest.raises(ValueError, match=r"'n_envs' must be an integer in \[1, 4096\]"):
        load_config(write(tmp_path, "n.yaml", "n_envs: 1e9\n"))


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
    path = write(tmp_path, "sweep.yaml", text)
    with pytest.raises(ValueError, match=re.escape(match)) as info:
        read_sweep_file(path)
    assert str(path) in str(info.value)
