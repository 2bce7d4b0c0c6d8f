"""Start and stop the virtual ARES-EA as a subprocess on this computer (127.0.0.1 only).

>>> from rltutorial.machine import VirtualAres
>>> with VirtualAres(noise=0.0, drift=0.0) as machine:      # doctest: +SKIP
...     backend = machine.backend(hidden_state="seeded")
...     print(machine.snapshot())

The server runs ``python -m rltutorial.machine serve`` with the same Python and the same
``rltutorial`` as the caller, listens on 127.0.0.1 only, logs to a file next to its
write log, and is stopped when :meth:`VirtualAres.stop` is called, when the ``with``
block ends (also on an error), when the calling interpreter exits, and, should the caller be
killed, by itself (it exits when its parent process is gone).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

import pandas as pd

from rltutorial.machine.model import MachineSettings
from rltutorial.machine.server import READY_LINE, loopback_environment
from rltutorial.machine.writelog import read_write_log

__all__ = ["VirtualAres", "free_port"]

HOST = "127.0.0.1"


def free_port() -> int:
    """A port on 127.0.0.1 that is free for TCP and UDP right now."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind((HOST, 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("No free port on 127.0.0.1 for both TCP and UDP.")


def _stop(process: subprocess.Popen, grace_s: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace_s)


class VirtualAres:
    """A virtual ARES-EA server running in a subprocess.

    Parameters
    ----------
    port : int, optional
        Channel Access port on 127.0.0.1; default a free one.
    settings : MachineSettings, optional
        Noise, drift, ramp, camera and lease settings; keyword arguments override its
        fields (``noise=0.0, drift=0.0`` for exact readings).
    prefix : str
        PV name prefix.
    folder : Path, optional
        Where the server's log (``server.log``) and write log (``writes.jsonl``) go;
        default a new temporary folder.
    startup_timeout : float
        Seconds to wait for the server to answer.
    **overrides
        Fields of :class:`~rltutorial.machine.model.MachineSettings`.
    """

    def __init__(
        self,
        port: int | None = None,
        settings: MachineSettings | None = None,
        prefix: str = "",
        folder: str | Path | None = None,
        startup_timeout: float = 120.0,
        **overrides: Any,
    ) -> None:
        base = settings or MachineSettings()
        self.settings = MachineSettings(**{**base.__dict__, **overrides})
        self.port = free_port() if port is None else int(port)
        self.prefix = prefix
        self.folder = Path(folder or tempfile.mkdtemp(prefix="virtual-ares-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def address(self) -> str:
        """``"127.0.0.1:<port>"``, for :class:`~rltutorial.machine.EpicsBackend`."""
        return f"{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """The server's own output."""
        return self.folder / "server.log"

    @property
    def write_log_path(self) -> Path:
        """Every write, as JSON lines."""
        return self.folder / "writes.jsonl"

    def _argv(self) -> list[str]:
        s = self.settings
        argv = [sys.executable, "-m", "rltutorial.machine", "serve", "--host", HOST]
        argv.append("--exit-with-parent")
        for flag, value in (
            ("--port", self.port),
            ("--prefix", self.prefix),
            ("--noise", s.noise),
            ("--drift", s.drift),
            ("--drift-time", s.drift_time),
            ("--ramp-time", s.ramp_time),
            ("--frame-rate", s.frame_rate),
            ("--lease-timeout", s.lease_timeout),
            ("--binning", s.binning),
            ("--write-log", self.write_log_path),
        ):
            argv += [flag, str(value)]
        return argv + ([] if s.seed is None else ["--seed", str(s.seed)])

    def _environment(self) -> dict[str, str]:
        import rltutorial

        root = str(Path(rltutorial.__file__).resolve().parents[1])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, **loopback_environment(HOST, self.port)}
        env["PYTHONPATH"] = root if not path else os.pathsep.join([root, path])
        return env

    def start(self, wait: bool = True) -> VirtualAres:
        """Start the server and (by default) wait until it answers.

        Parameters
        ----------
        wait : bool
            Wait for :meth:`wait_ready`; False returns at once (start several machines,
            then wait for each).
        """
        if self.process is not None:
            return self.wait_ready() if wait else self
        flags: dict[str, Any] = {}
        if os.name == "nt":
            flags["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            flags["start_new_session"] = True
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self._argv(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._environment(),
                **flags,
            )
        self._finalizer = weakref.finalize(self, _stop, self.process)
        return self.wait_ready() if wait else self

    def wait_ready(self) -> VirtualAres:
        """Wait until the started server answers.

        Raises
        ------
        RuntimeError
            If it exits or stays silent for ``startup_timeout`` s (with its log's tail).
        """
        if self.process is None:
            raise RuntimeError("Call start() first.")
        deadline = time.monotonic() + self.startup_timeout
        while READY_LINE not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(
                    f"The virtual ARES did not start on {self.address} within "
                    f"{self.startup_timeout} s. Its log ({self.log_path}):\n{tail}"
                )
            time.sleep(0.1)
        return self

    @property
    def alive(self) -> bool:
        """Whether the server process is running."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s); idempotent."""
        if self._finalizer is not None:
            self._finalizer()

    def kill(self) -> None:
        """Kill the server at once, as a crash would (for fault tests)."""
        if self.alive:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> VirtualAres:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def backend(self, **kwargs: Any):
        """An :class:`~rltutorial.machine.EpicsBackend` connected to this machine."""
        from rltutorial.machine.backend import EpicsBackend

        return EpicsBackend(
            **{"address": self.address, "prefix": self.prefix, **kwargs}
        )

    def write_log(self) -> pd.DataFrame:
        """Every write so far (see :func:`read_write_log`)."""
        return read_write_log(self.write_log_path)

    def snapshot(self) -> pd.DataFrame:
        """Every PV's value now, read by a watching client (see :func:`snapshot`)."""
        from rltutorial.machine.monitor import snapshot

        return snapshot(self.address, self.prefix)
