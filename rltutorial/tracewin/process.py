"""Start TraceWin in its own process group and kill its whole process tree.

A TraceWin that runs past its timeout may have started helper processes, and a
helper may have left the process group by starting its own session (``setsid``).
:func:`kill_process_tree` therefore records the tree with psutil *before* it signals
anything (once a parent dies its children are re-parented and can no longer be
found), then stops the leader and every recorded descendant, and on POSIX also the
process group, which still reaches members whose parents died earlier. The psutil
part is the same code on every platform; only the process-group signal is
POSIX-only (Windows has no ``os.killpg``).

Every TraceWin started through :func:`running` is also killed when the Python process
exits while it still runs: a run left behind in an abandoned thread (a serial sweep's
watchdog after Ctrl-C, for example) does not outlive the program that started it.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil

__all__ = [
    "kill_process_tree",
    "new_process_group_options",
    "running",
]

logger = logging.getLogger(__name__)

#: Time in s a process gets to exit after terminate (SIGTERM) before it is killed.
KILL_GRACE_S = 2.0
#: Time in s to wait for killed processes to disappear before giving up on them.
REAP_TIMEOUT_S = 5.0
_POLL_S = 0.02
#: ``subprocess.CREATE_NEW_PROCESS_GROUP`` (defined by Python on Windows only).
_CREATE_NEW_PROCESS_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)


_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


@contextmanager
def running(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Register ``process`` while the block runs; kill its tree if the program exits
    before the block ends (the block itself kills or waits for it otherwise)."""
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        yield process
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)


@atexit.register
def _kill_left_behind() -> None:
    """Kill the trees of registered processes still running at interpreter exit."""
    with _RUNNING_LOCK:
        left = [process for process in _RUNNING if process.poll() is None]
    for process in left:
        logger.warning("killing TraceWin (pid %d) left running at exit", process.pid)
        kill_process_tree(process)


def new_process_group_options(platform: str = os.name) -> dict[str, Any]:
    """Return the ``subprocess.Popen`` arguments that start a new process group.

    Parameters
    ----------
    platform : str
        ``os.name`` of the machine: ``"nt"`` (Windows) gets
        ``creationflags=CREATE_NEW_PROCESS_GROUP``, anything else
        ``start_new_session=True`` (new session and process group).

    Returns
    -------
    dict[str, Any]
        Keyword arguments for ``subprocess.Popen``.
    """
    if platform == "nt":
        return {"creationflags": _CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def kill_process_tree(
    process: subprocess.Popen,
    grace: float = KILL_GRACE_S,
    reap_timeout: float = REAP_TIMEOUT_S,
) -> list[int]:
    """Stop ``process`` and all its descendants, and reap ``process``.

    Parameters
    ----------
    process : subprocess.Popen
        The leader, started with :func:`new_process_group_options`.
    grace : float
        Time in s between terminate (SIGTERM; TraceWin may clean up) and kill.
    reap_timeout : float
        Time in s to wait for the killed processes; the wait never exceeds
        ``grace + 2 * reap_timeout`` in total.

    Returns
    -------
    list[int]
        Process ids still alive after the bound (normally empty; e.g. a process
        stuck in the kernel); they are also logged as a warning.
    """
    tree = _snapshot(process)
    _signal_group(process, "SIGTERM")
    _send(tree, "terminate")
    alive = _wait_gone(tree, grace)
    if alive:
        logger.debug("%d processes ignored terminate for %s s", len(alive), grace)
        alive = _with_new_descendants(alive)
    _signal_group(process, "SIGKILL")
    _send(alive, "kill")
    survivors = [proc.pid for proc in _wait_gone(alive, reap_timeout)]
    try:
        process.wait(timeout=reap_timeout)
    except subprocess.TimeoutExpired:
        survivors.append(process.pid)
    survivors = sorted(set(survivors))
    if survivors:
        logger.warning("processes %s survived kill for %s s", survivors, reap_timeout)
    return survivors


def _snapshot(process: subprocess.Popen) -> list[psutil.Process]:
    """Return the leader and all its descendants, or [] if it was reaped already."""
    if process.returncode is not None:  # reaped: its pid may belong to another
        return []
    try:
        leader = psutil.Process(process.pid)
    except psutil.Error:
        return []
    try:
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return [leader]


def _with_new_descendants(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Add the descendants ``procs`` started since the snapshot."""
    found = {proc.pid: proc for proc in procs}
    for proc in procs:
        try:
            children = proc.children(recursive=True)
        except psutil.Error:
            continue
        for child in children:
            found.setdefault(child.pid, child)
    return list(found.values())


def _send(procs: list[psutil.Process], action: str) -> None:
    """Call ``terminate`` or ``kill`` on each process still there."""
    for proc in procs:
        try:
            getattr(proc, action)()
        except psutil.NoSuchProcess:
            pass
        except psutil.AccessDenied:
            logger.debug("no permission to %s process %d", action, proc.pid)


def _signal_group(process: subprocess.Popen, name: str) -> None:
    """Send signal ``name`` to the process group led by ``process`` (POSIX only)."""
    killpg = getattr(os, "killpg", None)
    if killpg is None:
        return
    try:
        killpg(process.pid, getattr(signal, name))
    except ProcessLookupError:
        pass
    except PermissionError:
        logger.debug("no permission to signal process group %d", process.pid)


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Poll until every process has exited; return those alive after ``timeout`` s.

    A zombie counts as gone: it has exited and only waits for its parent.
    """
    deadline = time.monotonic() + timeout
    alive = [proc for proc in procs if _is_alive(proc)]
    while alive and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        alive = [proc for proc in alive if _is_alive(proc)]
    return alive


def _is_alive(proc: psutil.Process) -> bool:
    """True if ``proc`` (the same process, not a reused pid) runs and is no zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
