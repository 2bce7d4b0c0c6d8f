"""Every config key is documented once (rltutorial.config) and notebook 04 shows that
reference, naming every mode the registries hold."""

from __future__ import annotations

import json
from pathlib import Path

from rltutorial.algorithms import ALGORITHM_REGISTRY
from rltutorial.config import (
    CONFIG_DOCS,
    CONFIG_KEYS,
    CONFIG_SCHEMA,
    DEFAULT_CONFIG,
    config_reference,
)
from rltutorial.envs.actions import ACTION_MODES
from rltutorial.envs.targets import target_modes
from rltutorial.rewards import REWARD_MODES

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_training.ipynb"


def _reference_outputs() -> str:
    """Stored text of the code cells in notebook 04's section "The config, key by key"."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    texts, inside = [], False
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.startswith("## "):
            inside = source.startswith("## The config, key by key")
        elif inside and cell["cell_type"] == "code":
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                texts.append("".join(data.get("text/html", data.get("text/plain", ""))))
    return "\n".join(texts)


def test_every_key_has_one_default_check_and_meaning():
    """DEFAULT_CONFIG, CONFIG_SCHEMA and CONFIG_DOCS are views of the one table."""
    assert list(DEFAULT_CONFIG) == list(CONFIG_SCHEMA) == list(CONFIG_DOCS)
    assert list(CONFIG_DOCS) == list(CONFIG_KEYS)
    assert all(len(doc) > 20 for doc in CONFIG_DOCS.values())
    table = config_reference()
    assert list(table.index) == list(CONFIG_KEYS)
    assert table.loc["n_envs", "default"] == "40"


def test_docs_name_every_registered_mode():
    """The meanings of reward_mode, action_mode, target_beam_mode and algorithm name
    every entry of their registries."""
    for key, names in (
        ("reward_mode", REWARD_MODES),
        ("action_mode", ACTION_MODES),
        ("target_beam_mode", target_modes()),
        ("algorithm", ALGORITHM_REGISTRY),
    ):
        missing = [name for name in names if f"'{name}'" not in CONFIG_DOCS[key]]
        assert missing == [], f"{key} does not mention {missing}"


def test_notebook_04_shows_the_reference_with_every_mode():
    """Notebook 04's stored config reference names every reward, action and target
    mode and every algorithm: it is rendered from CONFIG_DOCS, not retyped."""
    shown = _reference_outputs()
    assert shown, "notebook 04 stores no config reference"
    assert "config_reference(" in NOTEBOOK.read_text()
    names = [*REWARD_MODES, *ACTION_MODES, *target_modes(), *ALGORITHM_REGISTRY]
    missing = [name for name in names if name not in shown]
    assert missing == [], f"notebook 04's config reference lacks {missing}"
    assert "MEANING" not in NOTEBOOK.read_text()
