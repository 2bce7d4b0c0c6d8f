"""Agent folders on disk: the manifest, atomic swaps, recovery after a kill, leftovers."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import rltutorial
from rltutorial import list_agents, load_agent
from rltutorial.agents import Agent, saving, swap
from rltutorial.agents import storage as agent_io
from rltutorial.agents.manifest import MANIFEST_FILE

OBSERVATIONS = np.random.default_rng(0).normal(size=(4, 9)).astype(np.float32)


@pytest.fixture
def models(tmp_path, monkeypatch):
    """An empty temporary models folder used as the zoo."""
    monkeypatch.setenv("RLTUTORIAL_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


def _flip_tensor_bytes(path: Path, count: int = 400) -> None:
    """Invert ``count`` bytes inside the largest tensor of a torch zip (not its header)."""
    entry = max(
        (
            info
            for info in zipfile.ZipFile(path).infolist()
            if "/data/" in info.filename
        ),
        key=lambda info: info.compress_size,
    )
    data = bytearray(path.read_bytes())
    start = entry.header_offset + 30 + len(entry.filename) + len(entry.extra) + 64
    for index in range(start, start + count):
        data[index] ^= 0xFF
    path.write_bytes(bytes(data))


def _leftovers(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if p.name.endswith((".old", ".partial"))
    )


def test_saved_folder_lists_every_file_in_its_manifest(tmp_path):
    """manifest.json gives format 1 and the SHA-256 digest and size of every file."""
    folder = Agent.untrained(seed=1).save(tmp_path / "Kim")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert manifest["format"] == 1
    files = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST_FILE)
    assert (
        sorted(manifest["files"])
        == files
        == ["config.yaml", "metrics.json", "policy.pt"]
    )
    for name, entry in manifest["files"].items():
        data = (folder / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_flipped_bytes_in_the_weights_are_refused(models):
    """400 inverted bytes in policy.pt's tensor data (which torch.load accepts) are
    refused, naming policy.pt."""
    Agent.untrained(name="Kim", seed=1).save()
    _flip_tensor_bytes(models / "Kim" / agent_io.WEIGHTS_FILE)
    with pytest.raises(ValueError, match=r"Kim/policy\.pt is damaged"):
        load_agent("Kim")


def test_flipped_bytes_are_found_without_a_manifest(models):
    """A folder saved before manifests existed still has its zip CRCs checked."""
    Agent.untrained(name="Kim", seed=1).save()
    (models / "Kim" / MANIFEST_FILE).unlink()
    _flip_tensor_bytes(models / "Kim" / agent_io.WEIGHTS_FILE)
    with pytest.warns(UserWarning, match="no manifest.json"):
        with pytest.raises(ValueError, match=r"policy\.pt is damaged.*CRC"):
            load_agent("Kim")


def test_folder_without_a_manifest_loads_with_a_warning(models):
    """An older agent (no manifest) loads and acts, with a warning saying how to
    re-save it."""
    agent = Agent.untrained(name="Kim", seed=1)
    agent.save()
    (models / "Kim" / MANIFEST_FILE).unlink()
    with pytest.warns(agent_io.UnverifiedAgentWarning, match="resave_zoo.py"):
        loaded = load_agent("Kim")
    np.testing.assert_allclose(loaded.act(OBSERVATIONS), agent.act(OBSERVATIONS))


def test_a_file_listed_but_missing_is_named(models):
    """Deleting a file the manifest lists (metrics.json) is refused, naming it."""
    Agent.untrained(name="Kim", seed=1).save()
    (models / "Kim" / agent_io.METRICS_FILE).unlink()
    with pytest.raises(ValueError, match=r"metrics\.json is missing .*lists it"):
        load_agent("Kim")


def test_an_agent_file_added_after_saving_is_refused(models):
    """A normalization.json dropped into a saved folder (unlisted) is refused: it would
    silently change what the policy sees."""
    Agent.untrained(name="Kim", seed=1).save()
    stats = {"mean": [0.0] * 9, "var": [1.0] * 9, "count": 1.0}
    (models / "Kim" / agent_io.NORMALIZATION_FILE).write_text(json.dumps(stats))
    with pytest.raises(ValueError, match=r"normalization\.json is not listed"):
        load_agent("Kim")


def test_other_extra_files_are_ignored(models):
    """Files loading never reads (notes, a .DS_Store) may be added to a folder."""
    Agent.untrained(name="Kim", seed=1).save()
    (models / "Kim" / "notes.txt").write_text("trained on Tuesday")
    (models / "Kim" / ".DS_Store").write_bytes(b"\0\1")
    assert load_agent("Kim").name == "Kim"


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", r"manifest\.json is damaged"),
        ('{"format": 2, "files": {}}', "format 2"),
        ('{"format": 1, "files": {"../x": {"sha256": "", "size": 1}}}', "bad entry"),
    ],
)
def test_a_damaged_manifest_is_named(models, text, message):
    """An unreadable, newer or malformed manifest.json is refused, naming it."""
    Agent.untrained(name="Kim", seed=1).save()
    (models / "Kim" / MANIFEST_FILE).write_text(text)
    with pytest.raises(ValueError, match=message):
        load_agent("Kim")


def test_updated_metrics_keep_the_manifest_valid(models):
    """write_metrics swaps in a folder whose manifest records the new metrics.json."""
    Agent.untrained(name="Kim", seed=1).save()
    saving.write_metrics(models / "Kim", {"agent": "Kim", "note": "re-evaluated"})
    with_manifest = load_agent("Kim")
    assert with_manifest.metrics["note"] == "re-evaluated"
    manifest = json.loads((models / "Kim" / MANIFEST_FILE).read_text())
    data = (models / "Kim" / agent_io.METRICS_FILE).read_bytes()
    assert (
        manifest["files"]["metrics.json"]["sha256"] == hashlib.sha256(data).hexdigest()
    )


def test_rewriting_never_certifies_a_damaged_file(models):
    """Updating the metrics of a folder with damaged weights fails and changes
    nothing: a new manifest must not vouch for the damaged file."""
    Agent.untrained(name="Kim", seed=1).save()
    _flip_tensor_bytes(models / "Kim" / agent_io.WEIGHTS_FILE)
    before = (models / "Kim" / MANIFEST_FILE).read_bytes()
    with pytest.raises(ValueError, match=r"policy\.pt is damaged"):
        saving.write_metrics(models / "Kim", {"agent": "Kim"})
    assert (models / "Kim" / MANIFEST_FILE).read_bytes() == before
    assert _leftovers(models) == []


KILL_SCRIPT = """
import os, pathlib, shutil, signal, sys
folder, point = pathlib.Path(sys.argv[1]), sys.argv[2]
rename, rmtree = pathlib.Path.rename, shutil.rmtree
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def hooked_rename(self, target):
    if point == "before-swap" and self == folder:
        die()
    result = rename(self, target)
    if point == "between-renames" and str(target).endswith(".old"):
        die()
    return result
def hooked_rmtree(path, *args, **kwargs):
    if point == "before-cleanup" and str(path).endswith(".old"):
        die()
    return rmtree(path, *args, **kwargs)
pathlib.Path.rename = hooked_rename
shutil.rmtree = hooked_rmtree
from rltutorial.agents import Agent
Agent.untrained(name=folder.name, seed=2).save(folder, overwrite=True)
"""


def _killed_save(folder: Path, point: str) -> None:
    """Overwrite ``folder`` with a new agent in a process SIGKILLed at ``point``."""
    package_root = str(Path(rltutorial.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": package_root}
    result = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(folder), point],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize(
    "point, survivor",
    [("before-swap", 1), ("between-renames", 1), ("before-cleanup", 2)],
)
def test_a_save_killed_at_any_step_leaves_the_old_or_the_new_agent(
    models, point, survivor
):
    """A save killed before the swap, between its two renames or before deleting the
    backup leaves a complete agent (old, old, new) that loads by name, and the next
    listing leaves no leftovers (a staging folder once it is stale)."""
    agents = {seed: Agent.untrained(name="Kim", seed=seed) for seed in (1, 2)}
    agents[1].save()
    _killed_save(models / "Kim", point)
    # float32 actions: the two seeds' actions differ by >= 4e-4 everywhere, rounding ~1e-9
    assert load_agent("Kim").act(OBSERVATIONS) == pytest.approx(
        agents[survivor].act(OBSERVATIONS), abs=1e-6
    )
    for leftover in models.glob(".Kim.*.partial"):  # the killed save is long gone
        os.utime(leftover, (time.time() - 2 * swap.STALE_AFTER_S,) * 2)
    assert list_agents() == ["Kim"]
    assert _leftovers(models) == []


def test_a_fresh_staging_folder_is_left_alone(models):
    """A staging folder that may belong to a save under way is not deleted by listing."""
    Agent.untrained(name="Kim", seed=1).save()
    (models / ".Kim.0123abcd.partial").mkdir()
    assert list_agents() == ["Kim"]
    assert _leftovers(models) == [".Kim.0123abcd.partial"]


def test_a_reader_sees_the_old_or_the_new_folder_during_a_swap(tmp_path):
    """While another save is between its two renames (folder gone, lock taken), a load
    waits for it and then gets the new agent instead of failing."""
    folder = Agent.untrained(seed=1).save(tmp_path / "Kim")
    new = Agent.untrained(name="Kim", seed=2)
    staged = new.save(tmp_path / "staged")
    result: dict = {}
    with swap.folder_lock(folder):
        swap._retire(folder)
        reader = threading.Thread(
            target=lambda: result.update(agent=Agent.from_folder(folder))
        )
        reader.start()
        time.sleep(1.0)
        assert reader.is_alive()  # waiting for the swap to finish
        staged.rename(folder)
    reader.join(timeout=120)
    assert result["agent"].act(OBSERVATIONS) == pytest.approx(new.act(OBSERVATIONS))


def _resave_zoo():
    """scripts/resave_zoo.py as a module."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "resave_zoo.py"
    spec = importlib.util.spec_from_file_location("resave_zoo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resave_script_adds_a_manifest_and_keeps_the_files(models):
    """resave_zoo.py gives an older folder a manifest, leaves its files byte for byte,
    and the agent then loads without a warning."""
    Agent.untrained(name="Kim", seed=1).save()
    (models / "Kim" / MANIFEST_FILE).unlink()
    before = {p.name: p.read_bytes() for p in (models / "Kim").iterdir()}
    assert _resave_zoo().main(["--all"]) == 0
    after = {p.name: p.read_bytes() for p in (models / "Kim").iterdir()}
    assert after.pop(MANIFEST_FILE) and after == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_agent("Kim")


def test_resave_script_refuses_a_damaged_agent(models, capsys):
    """A folder that fails its checks is reported and not given a manifest."""
    Agent.untrained(name="Kim", seed=1).save()
    (models / "Kim" / MANIFEST_FILE).unlink()
    _flip_tensor_bytes(models / "Kim" / agent_io.WEIGHTS_FILE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _resave_zoo().main(["Kim"]) == 1
    assert "NOT re-saved" in capsys.readouterr().err
    assert not (models / "Kim" / MANIFEST_FILE).exists()
