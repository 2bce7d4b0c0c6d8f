"""Run notebooks in fresh kernels and report their peak memory and wall time.

Each notebook is executed top to bottom with nbclient in a new kernel (working directory:
the notebook's folder; the notebook file is not modified). While it runs, a thread samples
the resident set size (RSS) of the kernel process plus all its child processes (for example
Dask workers) and keeps the peak. RSS of several processes can count shared pages twice, so
the figure is an upper bound.

Usage::

    python scripts/notebook_memory.py                         # every notebook in notebooks/
    python scripts/notebook_memory.py notebooks/01_problem_formulation.ipynb --fast

``--fast`` sets ``RLTUTORIAL_FAST=1`` for the kernels (the notebooks' fast mode); without it
the variable is removed, so the notebooks run in full mode. The exit status is 1 when a
notebook fails or its peak exceeds ``--limit-mb``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

__all__ = ["Measurement", "MemorySampler", "measure_notebook", "main"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LIMIT_MB = 1500.0


@dataclass
class Measurement:
    """Outcome of one notebook run: peak RSS in MB, wall time in s, status text."""

    notebook: str
    mode: str
    peak_mb: float
    seconds: float
    status: str


class MemorySampler(threading.Thread):
    """Sample the RSS of a process and its descendants every ``interval`` seconds."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.pid: int | None = None
        self.peak_bytes = 0
        self._stop_event = threading.Event()

    def _total_rss(self, process: psutil.Process) -> int:
        total = 0
        for member in [process, *process.children(recursive=True)]:
            try:
                total += member.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total

    def run(self) -> None:
        """Poll until stopped (the pid is set once the kernel has started)."""
        process = None
        while not self._stop_event.is_set():
            if process is None and self.pid is not None:
                process = psutil.Process(self.pid)
            if process is not None:
                try:
                    self.peak_bytes = max(self.peak_bytes, self._total_rss(process))
                except psutil.NoSuchProcess:
                    pass
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        """Stop sampling and return the peak in MB."""
        self._stop_event.set()
        self.join()
        return self.peak_bytes / 1e6


def _kernel_env(fast: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RLTUTORIAL_FAST", None)
    if fast:
        env["RLTUTORIAL_FAST"] = "1"
    return env


def measure_notebook(
    path: Path, fast: bool = False, timeout: int = 3600, interval: float = 0.1
) -> Measurement:
    """Execute one notebook in a fresh kernel while sampling its memory."""
    nb = nbformat.read(path, as_version=4)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name)
    sampler = MemorySampler(interval)

    def remember_kernel_pid(**_: object) -> None:
        sampler.pid = getattr(client.km.provisioner, "pid", None)

    client.on_notebook_start = remember_kernel_pid
    sampler.start()
    start = time.perf_counter()
    status = "ok"
    try:
        client.execute(cwd=str(path.parent), env=_kernel_env(fast))
    except CellTimeoutError:
        status = f"timeout after {timeout} s"
    except CellExecutionError as error:
        status = f"error: {error.ename}: {error.evalue}"[:80]
    seconds = time.perf_counter() - start
    peak = sampler.stop()
    return Measurement(path.name, "fast" if fast else "full", peak, seconds, status)


def _table(rows: list[Measurement]) -> str:
    width = max([len("notebook"), *(len(row.notebook) for row in rows)])
    lines = [
        f"{'notebook':{width}s}  {'peak RSS (MB)':>13s}  {'wall time (s)':>13s}  mode  status"
    ]
    for row in rows:
        lines.append(
            f"{row.notebook:{width}s}  {row.peak_mb:13.0f}  {row.seconds:13.1f}  {row.mode:4s}  {row.status}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to run (default: notebooks/*.ipynb)",
    )
    parser.add_argument(
        "--fast", action="store_true", help="run with RLTUTORIAL_FAST=1"
    )
    parser.add_argument(
        "--limit-mb",
        type=float,
        default=DEFAULT_LIMIT_MB,
        help=f"fail above this peak (default {DEFAULT_LIMIT_MB:.0f} MB)",
    )
    parser.add_argument(
        "--timeout", type=int, default=3600, help="per-cell timeout in s"
    )
    parser.add_argument(
        "--interval", type=float, default=0.1, help="sampling interval in s"
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(path) for path in paths if not path.is_file()]
    if not paths or missing:
        parser.error(f"notebooks not found: {missing or 'notebooks/*.ipynb'}")
    rows = []
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        rows.append(measure_notebook(path, args.fast, args.timeout, args.interval))
    print(_table(rows))
    failed = [r for r in rows if r.status != "ok" or r.peak_mb > args.limit_mb]
    for row in failed:
        print(
            f"{row.notebook}: {row.status}, peak {row.peak_mb:.0f} MB (limit {args.limit_mb:.0f} MB)",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
