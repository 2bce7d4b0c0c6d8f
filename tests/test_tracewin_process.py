"""Tests for rltutorial.tracewin.process: a timed-out TraceWin dies with its tree."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest
from fake_tracewin import MODE_PARAM, make_fake_tracewin, make_project, mode_code

from rltutorial.tracewin import EXECUTABLE_ENV_VAR, TraceWin, TraceWinTimeoutError
from rltutorial.tracewin.process import kill_process_tree, new_process_group_options

PID_FILES = ("fake.pid", "child.pid", "grandchild.pid")


@pytest.fixture
def tracewin(tmp_path, monkeypatch):
    """A TraceWin wrapper on the fake executable and a minimal project."""
    monkeypatch.delenv(EXECUTABLE_ENV_VAR, raising=False)
    monkeypatch.delenv("FAKE_TRACEWIN_MODE", raising=False)
    (tmp_path / "bin").mkdir()
    return TraceWin(
        make_project(tmp_path / "project"),
        executable=make_fake_tracewin(tmp_path / "bin"),
        workdir=tmp_path / "runs",
    )


@pytest.fixture
def reaper():
    """Collect pids to check; whatever is still alive at teardown is killed."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass


def _is_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (exited, waiting to be reaped)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _run_setsid_tree(tracewin: TraceWin, reaper: list[int]) -> TraceWinTimeoutError:
    """Time out a fake whose grandchild left the session; return the error.

    The pids the fake wrote are added to ``reaper`` even if the run fails otherwise.
    """
    try:
        with pytest.raises(TraceWinTimeoutError) as info:
            tracewin.run({MODE_PARAM: mode_code("hang_setsid")}, timeout=2.0)
    finally:
        for name in PID_FILES:
            files = tracewin.workdir.glob(f"*/{name}")
            reaper.extend(int(path.read_text()) for path in files)
    missing = [name for name in PID_FILES if not (info.value.calc_dir / name).is_file()]
    assert not missing, f"the fake did not start its tree in time: no {missing}"
    return info.value


def test_timeout_kills_grandchild_in_own_session(tracewin, reaper):
    """A grandchild that called setsid (out of the process group) dies too."""
    error = _run_setsid_tree(tracewin, reaper)
    assert "computing..." in error.output_tail and "survived" not in str(error)
    alive = [pid for pid in reaper if _is_alive(pid)]
    assert not alive, f"pids {alive} of {reaper} survived the timeout"


def test_timeout_kills_tree_without_killpg(tracewin, reaper, monkeypatch):
    """Without os.killpg (as on Windows) the psutil path alone kills the tree."""
    monkeypatch.delattr(os, "killpg")
    _run_setsid_tree(tracewin, reaper)
    alive = [pid for pid in reaper if _is_alive(pid)]
    assert not alive, f"pids {alive} of {reaper} survived the timeout"


def test_kill_process_tree_reaps_leader_and_reports_nothing_left():
    """The leader is reaped (returncode set) and no pid is reported alive."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        **new_process_group_options(),
    )
    start = time.monotonic()
    assert kill_process_tree(process, grace=5.0) == []
    assert process.returncode is not None and not _is_alive(process.pid)
    assert time.monotonic() - start < 4, "a process that obeys SIGTERM is not waited"


def test_kill_process_tree_after_leader_was_reaped():
    """A leader reaped before the kill is not looked up (its pid may be reused)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert kill_process_tree(process, grace=0.1, reap_timeout=0.1) == []


@pytest.mark.parametrize(
    ("platform", "options"),
    [
        ("nt", {"creationflags": 0x200}),
        ("posix", {"start_new_session": True}),
    ],
)
def test_new_process_group_options(platform, options):
    """Windows gets CREATE_NEW_PROCESS_GROUP (0x200), POSIX a new session."""
    assert new_process_group_options(platform) == options
