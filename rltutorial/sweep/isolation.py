"""Serial sweep points in a child process, so that a point cannot kill the sweep.

Without a Dask client, :func:`~rltutorial.sweep.run_sweep` calls each point in its own
process: a point that ends that process (``os._exit``, a crash in compiled code, the
kernel's out-of-memory killer) takes every finished point with it. With
``isolate=True`` the points run one at a time in a child Python process instead
(:class:`IsolatedPoints`):

- a point whose child dies is reported ``lost`` (with the exit code) and the next point
  starts a fresh child;
- a point that exceeds the timeout is reported ``timeout`` and its child is *killed*
  with every process it started, so a stuck simulation really stops (in-process, a
  Python thread cannot be killed);
- the simulation travels to the child with cloudpickle, so lambdas and functions
  defined in a notebook work; the child gets this process's ``sys.path``.

The child (``python -c`` with the parent's ``sys.path``) talks to the parent over its
standard input and a duplicate of its standard output; what the simulation prints goes to standard error. Starting a child costs an
interpreter start and ``import rltutorial`` (about 1-3 s), once per sweep and once
after each death or timeout.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import IO, Any

__all__ = ["IsolatedPoints"]

_EOF = object()
#: The child's first lines: take the parent's ``sys.path`` (the first message), so
#: that it imports the same rltutorial and simulation modules, then serve.
_BOOTSTRAP = (
    "import pickle, sys; stdin = sys.stdin.buffer; "
    "sys.path[:] = pickle.loads(stdin.read(int.from_bytes(stdin.read(8), 'little'))); "
    "from rltutorial.sweep.isolation import serve; serve()"
)
_STARTUP_S = 120.0  # waiting for a fresh child's first answer, besides the timeout
_KILL_GRACE_S = 0.5  # between terminate and kill of a timed-out child's process tree


class IsolatedPoints:
    """Run sweep points one at a time in a child process; replace it when it dies.

    Parameters
    ----------
    simulate : callable
        ``simulate(**fixed, **point) -> dict`` (pickled with cloudpickle).
    fixed : Mapping
        Arguments shared by every point.
    watchdog_s : float or None
        Seconds after which a point's child is killed and the point reported
        ``timeout``; None waits as long as it takes.
    check_finite : bool
        Report points with NaN or infinite numeric results as ``failed``.
    """

    def __init__(
        self,
        simulate: Callable[..., Any],
        fixed: Mapping[str, Any],
        watchdog_s: float | None,
        check_finite: bool = True,
    ) -> None:
        import cloudpickle

        self.path = pickle.dumps(list(sys.path))
        self.payload = cloudpickle.dumps((simulate, dict(fixed), check_finite))
        self.watchdog_s = watchdog_s
        self.process: subprocess.Popen | None = None
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self.fresh = False

    def __enter__(self) -> IsolatedPoints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """The record of one point (as ``execution.run_point`` makes it); never raises
        except for ``KeyboardInterrupt``, after which the child is killed."""
        message = pickle.dumps(dict(point))
        try:
            self._ready()._send(message)
        except OSError:  # the child ended after its last point: one fresh start
            self.close()
            try:
                self._ready()._send(message)
            except OSError:
                return self._lost()
        wait = self.watchdog_s
        if wait is not None and self.fresh:
            wait += _STARTUP_S
        try:
            answer = self.answers.get(timeout=wait)
        except queue.Empty:
            self.close()
            return {
                "status": "timeout",
                "error": f"PointTimeoutError: simulate did not return within "
                f"{self.watchdog_s:g} s; its process was killed",
                "duration_s": float(self.watchdog_s),
                "worker": "isolated",
            }
        except BaseException:
            self.close()
            raise
        if answer is _EOF:
            return self._lost()
        self.fresh = False
        return {**answer, "worker": "isolated"}

    def close(self) -> None:
        """Kill the child (if any) and wait for it; its reader thread then ends."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            from rltutorial.tracewin.process import kill_process_tree

            kill_process_tree(process, grace=_KILL_GRACE_S)
        process.wait()
        try:
            process.stdin.close()
        except OSError:
            pass

    def _ready(self) -> IsolatedPoints:
        """Start a child unless one is running."""
        if self.process is None or self.process.poll() is not None:
            self.close()
            self._start()
        return self

    def _start(self) -> None:
        """Start a child and hand it the simulation."""
        from rltutorial.tracewin.process import new_process_group_options

        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            **new_process_group_options(),
        )
        self.answers = queue.SimpleQueue()
        threading.Thread(
            target=_read_answers,
            args=(self.process.stdout, self.answers),
            name="rltutorial-sweep-isolated",
            daemon=True,
        ).start()
        self.fresh = True
        self._send(self.path)
        self._send(self.payload)

    def _send(self, data: bytes) -> None:
        """Write one pickled message to the child, prefixed by its length."""
        stdin = self.process.stdin
        stdin.write(len(data).to_bytes(8, "little") + data)
        stdin.flush()

    def _lost(self) -> dict[str, Any]:
        """Record of a point whose child ended before answering."""
        process = self.process
        code = None if process is None else process.wait()
        self.close()
        return {
            "status": "lost",
            "error": f"the point's process ended with exit code {code} before it "
            "returned (os._exit, a crash or a kill); the sweep went on in a new one",
            "duration_s": float("nan"),
            "worker": "isolated",
        }


def _read_answers(stream: IO[bytes], answers: queue.SimpleQueue) -> None:
    """Put every record the child sends into ``answers``; ``_EOF`` when it ends."""
    try:
        while True:
            answers.put(pickle.load(stream))
    except (EOFError, OSError, pickle.UnpicklingError, ValueError):
        answers.put(_EOF)
    finally:
        stream.close()


def _read_message(stream: IO[bytes]) -> Any:
    """One length-prefixed pickle from ``stream``; EOFError when it is closed."""
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    return pickle.loads(stream.read(int.from_bytes(header, "little")))


def serve() -> None:
    """The child's loop (after :data:`_BOOTSTRAP` set ``sys.path``): take the
    simulation, then run points until stdin closes."""
    from rltutorial.sweep.execution import describe_error, run_point

    if hasattr(signal, "SIGINT"):  # Ctrl-C is the parent's to handle (Windows)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints go to stderr
    requests = sys.stdin.buffer
    try:
        simulate, fixed, check_finite = _read_message(requests)
        setup_error = None
    except Exception as error:  # noqa: BLE001 - reported with every point
        setup_error = f"cannot load the simulation here: {describe_error(error)}"
    while True:
        try:
            point = _read_message(requests)
        except EOFError:
            return
        if setup_error is None:
            record = run_point(point, simulate, fixed, None, check_finite)
        else:
            record = {"status": "failed", "error": setup_error, "duration_s": 0.0}
        try:
            data = pickle.dumps(record)
        except Exception as error:  # noqa: BLE001 - any result that cannot travel
            record = {
                "status": "failed",
                "error": f"results cannot be sent back: {describe_error(error)}",
                "duration_s": record["duration_s"],
            }
            data = pickle.dumps(record)
        answers.write(data)
        answers.flush()
