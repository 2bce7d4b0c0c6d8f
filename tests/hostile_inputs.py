"""Helpers of the hostile-input tests (test_hostile.py, test_hostile_cli.py): hostile
YAML, running the command line in this process or as ``python -m rltutorial``, and
the check that an error is one line on stderr with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import rltutorial
from rltutorial.__main__ import main

PROG = "python -m rltutorial"
FOLDERS = ("models", "runs", "recordings")
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


def peak_mb(action: Callable[[], object]) -> tuple[BaseException | None, float]:
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


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``folder / name`` and return the path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_main(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``main(argv)`` in this process: its exit code and what it wrote on stderr."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def run_module(argv: list[str], root: Path, timeout: float = 120) -> tuple[int, str]:
    """``python -m rltutorial ARGV`` with its folders under ``root``: exit code, stderr."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PACKAGE_ROOT),
        "RLTUTORIAL_FAST": "1",
        "MPLBACKEND": "Agg",
        **{f"RLTUTORIAL_{n.upper()}": str(root / n) for n in FOLDERS},
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


def use_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point models, runs and recordings to ``tmp_path`` (the only zoo searched)."""
    for name in FOLDERS:
        monkeypatch.setenv(f"RLTUTORIAL_{name.upper()}", str(tmp_path / name))
    monkeypatch.setenv("RLTUTORIAL_FAST", "1")
    return tmp_path
