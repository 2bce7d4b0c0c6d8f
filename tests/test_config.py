"""Config validation and safe YAML storage."""

import numpy as np
import pytest
import yaml

from rltutorial import DEFAULT_CONFIG, load_config, save_config, validate_config


def test_defaults_validate_and_are_not_shared():
    """validate_config fills defaults and returns a copy the caller can change freely."""
    config = validate_config({"reward_mode": "negative_objective"})
    config["net_arch"].append(8)
    assert DEFAULT_CONFIG["net_arch"] == [64, 64]
    assert config["reward_mode"] == "negative_objective" and config["n_envs"] == 40


def test_caller_config_is_not_modified():
    """Validation never mutates the dict it was given."""
    mine = {"time_limit": 10}
    validate_config(mine)
    assert mine == {"time_limit": 10}


@pytest.mark.parametrize(
    "config,match",
    [
        ({"reward_modee": "x"}, "Unknown config key.*did you mean 'reward_mode'"),
        ({"reward_mode": "feedback"}, "'reward_mode' must be one of"),
        ({"n_envs": 0}, "'n_envs' must be an integer"),
        ({"n_envs": 2.5}, "'n_envs' must be an integer"),
        ({"gamma": 1.5}, "'gamma'"),
        ({"abort_if_off_screen": "yes"}, "True or False"),
        ({"filter_observation": ["beam", "screen"]}, "distinct items from"),
        ({"filter_action": [0, 0]}, "distinct items"),
        ({"magnet_init_values": [0, 0]}, "5 numbers"),
        ({"rescale_action": [3, -3]}, "low < high"),
        ({"time_reward": float("nan")}, "'time_reward'"),
        ({"net_arch": []}, r"integers in \[1, 4096\]"),
    ],
)
def test_bad_configs_raise_with_names(config, match):
    """Unknown keys, wrong types and invalid modes raise ValueError naming key and choices."""
    with pytest.raises(ValueError, match=match):
        validate_config(config)


def test_yaml_round_trip_is_plain(tmp_path):
    """Saved configs are plain YAML (no Python tags, numpy converted) and load back equal."""
    config = validate_config(
        {"magnet_init_values": list(np.array([1.0, 2, 0, 3, 0])), "seed": np.int64(3)}
    )
    path = save_config(config, tmp_path / "config.yaml")
    text = path.read_text()
    assert "!!" not in text
    assert load_config(path) == validate_config(yaml.safe_load(text))
    assert load_config(path)["seed"] == 3


def test_load_config_rejects_python_tags(tmp_path):
    """A YAML file with Python object tags is refused by safe_load, not executed."""
    path = tmp_path / "evil.yaml"
    path.write_text("reward_mode: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(path)
