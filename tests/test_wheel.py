"""The package as a wheel installs it: its zoo, its recordings, and where it writes.

The wheel is built from the tracked files of the repository (as a clean clone has them)
and installed with ``--no-deps`` into a fresh virtual environment made with
``--system-site-packages`` over the test environment, so the dependencies come from
there but ``rltutorial`` itself is the wheel's copy. Everything then runs from another
directory, with a fresh home folder, as a user who ran ``pip install rltutorial`` would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Runs inside the wheel's environment; prints one JSON object.
PROBE = textwrap.dedent("""
    import json, sys, sysconfig
    from pathlib import Path
    import rltutorial
    from rltutorial import paths
    from rltutorial.agents.zoo import agent_folder

    names = rltutorial.list_agents()
    loaded = {name: rltutorial.load_agent(name).name for name in names}
    evaluation = rltutorial.evaluate_agent("Sean Kelley", n=2, seed=0)
    recordings = {
        name: sorted(p.name for d in paths.recording_dirs() for p in (d / name).glob("*.gif"))
        for name in names
    }
    config = {**rltutorial.DEFAULT_CONFIG, "run_name": "Wheel Tiny", "n_envs": 2,
              "n_steps": 25, "batch_size": 50, "n_epochs": 1, "total_timesteps": 100,
              "time_limit": 5, "eval_every": 100, "eval_episodes": 2, "seed": 0}
    trained = rltutorial.train(config, evaluation_episodes=0, recorded_episodes=0,
                               progress_bar=False)
    print(json.dumps({
        "file": rltutorial.__file__,
        "purelib": sysconfig.get_paths()["purelib"],
        "repo_dir": None if paths.REPO_DIR is None else str(paths.REPO_DIR),
        "names": names,
        "loaded": loaded,
        "sean_folder": str(agent_folder("sean kelley")),
        "reference_folder": str(agent_folder("reference")),
        "error_um": evaluation.metrics["median_mae"] * 1e6,
        "recordings": recordings,
        "trained_folder": str(trained.folder),
        "runs": str(paths.runs_dir()),
        "listed_after": rltutorial.list_agents(),
    }))
    """)


def _tracked_copy(destination: Path) -> Path:
    """Copy the files git tracks (what a clean clone holds) to ``destination``."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict:
    """Build the wheel, install it into a fresh venv, run the probe; its JSON result."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know which files a clean clone has")
    root = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(root / "source")
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(dist), str(source)],
        check=True, timeout=300,
    )  # fmt: skip
    [wheel] = dist.glob("rltutorial-*.whl")
    venv = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True, timeout=120,
    )  # fmt: skip
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--quiet",
         "--disable-pip-version-check", str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    home = root / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RLTUTORIAL_") and k != "PYTHONPATH"
    }
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    env.update(MPLBACKEND="Agg", PYTHONNOUSERSITE="1")
    done = subprocess.run(
        [str(python), "-c", PROBE], cwd=elsewhere, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["home"] = str(home)
    result["source"] = source  # the tracked files the wheel was built from
    return result


def test_the_wheel_copy_is_imported(wheel_env):
    """``rltutorial`` comes from the venv's site-packages, not the editable checkout."""
    assert Path(wheel_env["file"]).is_relative_to(wheel_env["purelib"])
    assert wheel_env["repo_dir"] is None


def test_installed_zoo_lists_and_loads_every_agent(wheel_env):
    """Every agent of the repository's models/ (as git tracks it) is listed, found by
    name and loads."""
    shipped = sorted(p.name for p in (wheel_env["source"] / "models").iterdir())
    assert shipped and wheel_env["names"] == shipped
    assert wheel_env["loaded"] == {name: name for name in shipped}
    zoo = Path(wheel_env["purelib"]) / "rltutorial" / "zoo" / "models"
    assert Path(wheel_env["sean_folder"]) == zoo / "Sean Kelley"
    assert Path(wheel_env["reference_folder"]).parent == zoo


def test_installed_agent_evaluates(wheel_env):
    """A short evaluation of a shipped agent gives a finite focus error below 1 mm."""
    assert 0 < wheel_env["error_um"] < 1000


def test_installed_recordings_ship(wheel_env):
    """Each agent's episode GIFs of recordings/ are found in the installed package."""
    for name, files in wheel_env["recordings"].items():
        expected = sorted(p.name for p in (REPO / "recordings" / name).glob("*.gif"))
        assert files == expected and files, name


def test_training_output_goes_to_the_user_folder(wheel_env):
    """A trained agent and its logs land in the user's data folder, never in
    site-packages, and join the listed zoo."""
    home = Path(wheel_env["home"])
    trained = Path(wheel_env["trained_folder"])
    assert trained.is_relative_to(home) and trained.name == "Wheel Tiny"
    assert not trained.is_relative_to(wheel_env["purelib"])
    assert Path(wheel_env["runs"]).is_relative_to(home)
    assert "Wheel Tiny" in wheel_env["listed_after"]
