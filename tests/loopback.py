"""Command-line processes for tests that run Dask on 127.0.0.1.

Each process starts in its own session (so its process group holds it and its
children, e.g. a nanny's worker), writes its output to a log file, and is stopped
with its whole group: gently (SIGTERM, as Kubernetes stops a pod) if asked, then
with SIGKILL. :func:`collect_garbage` tidies up after a Dask client.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

__all__ = ["ProcessGroups", "collect_garbage", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def collect_garbage() -> None:
    """Collect Dask's abandoned asyncio tasks now, not at a random later moment.

    Their "exception was never retrieved" log formats a traceback, which on
    CPython 3.11 can clash with an ``ast.parse`` running at that moment (pytest's
    assertion rewriting), raising "AST constructor recursion depth mismatch".
    Call it after closing a client.
    """
    gc.collect()


class ProcessGroups:
    """Subprocesses in their own sessions, logging to ``log_dir/<name>.log``.

    Parameters
    ----------
    log_dir : Path
        Existing folder for the log files.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def spawn(
        self, name: str, argv: Sequence[str], env: Mapping[str, str]
    ) -> subprocess.Popen:
        """Start ``argv`` (looked up on ``env["PATH"]``) in a new session."""
        with self.log(name).open("wb") as log:
            process = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env),
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def log(self, name: str) -> Path:
        """The log file of the process called ``name``."""
        return self.log_dir / f"{name}.log"

    def tails(self, lines: int = 15) -> str:
        """The last ``lines`` lines of every log, for failure messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def close(self, grace_s: float = 0.0) -> None:
        """Stop every process group, last started first, and reap the leaders.

        Parameters
        ----------
        grace_s : float
            Seconds the groups get to exit after SIGTERM before SIGKILL; 0 kills at
            once (throwaway test processes).
        """
        if grace_s > 0:
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and self.survivors():
                time.sleep(0.1)
                for process in self.processes:
                    process.poll()
        self._signal(signal.SIGKILL)
        for process in self.processes:
            process.wait(timeout=10)

    def survivors(self) -> list[int]:
        """PIDs of processes still running in the groups (zombies excluded)."""
        return sorted(self._members())

    def _members(self) -> dict[int, int]:
        """Running processes of the groups: PID to process group."""
        groups = {process.pid for process in self.processes}
        members = {}
        for candidate in psutil.process_iter(["status"]):
            try:
                group = os.getpgid(candidate.pid)
            except ProcessLookupError:
                continue
            if group in groups and candidate.info["status"] != psutil.STATUS_ZOMBIE:
                members[candidate.pid] = group
        return members

    def _signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to every group that still has a running process."""
        live = set(self._members().values())
        for process in reversed(self.processes):
            if process.poll() is None or process.pid in live:
                try:
                    os.killpg(process.pid, signum)
                except ProcessLookupError:
                    pass
