"""``python -m rltutorial sweep``: a parameter sweep from a shell, one table row per point.

The command runs :func:`rltutorial.sweep.run_sweep` over every combination of the
``--grid`` axes (or of a sweep file's ``grid``), serially, on a local Dask cluster
(``--workers N``) or on a running one (``--scheduler ADDRESS``), and writes the
table (parameters, results, ``status``, ``error``, ``duration_s``, ``worker``,
``attempts``) to ``--out`` in one atomic step: a crash never leaves half a file.

Examples::

    python -m rltutorial sweep --backend cheetah --grid q1=-30:30:20 \\
        --grid q2=-10:10:5 --workers 2 --out scan.csv
    python -m rltutorial sweep --backend tracewin --set project=lattice/ \\
        --grid 'ele[27][6]=-1300:-1100:5' --scheduler tcp://10.0.0.5:8786 \\
        --timeout 600 --retries 1 --out scan.csv
    python -m rltutorial sweep --file sweep.yaml --out scan.csv

Exit codes: 0 when every point is ok, 1 when some failed, timed out or were lost
(0 with ``--allow-failures``), 2 for a usage error, 130 when interrupted (Ctrl-C; the
table of the points finished so far is written, the others marked ``lost``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from rltutorial.cli.sweep_spec import SWEEP_COMMAND_BACKENDS, build_spec, check_spec
from rltutorial.registry import lookup

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

__all__ = ["TABLE_FORMATS", "add_sweep_parser", "sweep_command", "write_table"]

_EPILOG = """\
examples:
  python -m rltutorial sweep --backend cheetah --grid q1=-30:30:20 \\
      --grid q2=-10:10:5 --workers 2 --out scan.csv
  python -m rltutorial sweep --backend tracewin --set project=lattice/ \\
      --grid 'ele[27][6]=-1300:-1100:5' --set nbr_part1=10000 \\
      --scheduler tcp://HOST:8786 --timeout 600 --retries 1 --out scan.csv
  python -m rltutorial sweep --file sweep.yaml --grid q2=-5,0,5 --out scan.csv

Quote names with brackets ('ele[27][6]=...'): the shell may expand them otherwise.
NAME=START:STOP:NUM is numpy.linspace(START, STOP, NUM); NAME=1,2,5 lists values.
The points are all combinations, the first axis varying slowest. Unknown names are
refused with the list of valid ones (cheetah: q1 q2 q3 in 1/m^2, cv ch in rad, and
the incoming beam, e.g. energy in eV; tracewin: ele[n][v] and TraceWin's keys, plus
--set project=FOLDER (required) and executable=PATH).

sweep file (YAML; the command line adds to it and wins on a name given in both):
  backend: cheetah
  grid:
    q1: {start: -30, stop: 30, num: 20}   # or "-30:30:20", in quotes
    q2: [-10, 0, 10]
  fixed: {energy: 1.2e8}
  timeout: 60
  retries: 1

exit codes: 0 all points ok; 1 some failed/timeout/lost (0 with --allow-failures);
2 usage error; 130 interrupted (the finished points are written, the rest as lost).
"""


def _write_csv(frame: pd.DataFrame, stream: BinaryIO) -> None:
    """Write ``frame`` as CSV, without the index."""
    frame.to_csv(stream, index=False)


def _write_parquet(frame: pd.DataFrame, stream: BinaryIO) -> None:
    """Write ``frame`` as Parquet (pyarrow), without the index."""
    frame.to_parquet(stream, index=False, engine="pyarrow")


def _need_pyarrow() -> None:
    """Raise ValueError with an install hint unless pyarrow can be imported."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError(
            "writing Parquet needs pyarrow: pip install pyarrow (or use --out *.csv)"
        ) from None


@dataclass(frozen=True)
class TableFormat:
    """How to write the result table, and what it needs installed."""

    write: Callable[[pd.DataFrame, BinaryIO], None]
    check: Callable[[], None] | None = None


#: Formats of ``--out`` by file suffix.
TABLE_FORMATS: dict[str, TableFormat] = {
    ".csv": TableFormat(_write_csv),
    ".parquet": TableFormat(_write_parquet, _need_pyarrow),
    ".pq": TableFormat(_write_parquet, _need_pyarrow),
}


def _check_out(path: Path, overwrite: bool) -> TableFormat:
    """The table format of ``path``, after checking it can be written there."""
    table_format = lookup(TABLE_FORMATS, path.suffix.lower(), "--out suffix")
    if table_format.check is not None:
        table_format.check()
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no folder {path.parent} for --out {path}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    return table_format


def write_table(frame: pd.DataFrame, path: Path, table_format: TableFormat) -> None:
    """Write ``frame`` to a hidden file next to ``path``, sync it, rename it to ``path``."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as stream:
            table_format.write(frame, stream)
            stream.flush()
            os.fsync(stream.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def _connect(scheduler: str | None, workers: int | None) -> Iterator[Client | None]:
    """No client (serial), a local cluster of ``workers``, or ``scheduler``'s cluster."""
    if scheduler is not None and workers is not None:
        raise ValueError("give either --scheduler or --workers, not both")
    most = 4 * (os.cpu_count() or 1)
    if workers is not None and not 1 <= workers <= most:
        raise ValueError(
            f"--workers must be from 1 to {most} (4 per core of this computer), got "
            f"{workers}"
        )
    if scheduler is None and workers is None:
        yield None
        return
    from rltutorial.sweep import make_client

    try:
        client = make_client(scheduler, n_workers=workers)
    except OSError as error:
        where = scheduler or f"a local cluster of {workers} workers"
        raise ValueError(f"cannot connect to {where}: {error}") from None
    try:
        _wait_for_a_worker(client, scheduler)
        yield client
    finally:
        client.close()


#: Seconds to wait for the first worker of a running cluster to register.
WORKER_WAIT_S = 60.0


def _wait_for_a_worker(client: Client, scheduler: str | None) -> None:
    """Return once the cluster has a worker; ValueError naming the scheduler if none
    registers within :data:`WORKER_WAIT_S` (its points would wait forever)."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:
        raise ValueError(
            f"the scheduler at {scheduler or client.scheduler.address} has no worker "
            f"(waited {WORKER_WAIT_S:.0f} s); start one with `dask worker ADDRESS`"
        ) from None


def _where(client: Client | None) -> str:
    """Where the points run, for the summary."""
    if client is None:
        return "this process, one after another"
    address, n_workers = client.scheduler.address, len(client.nthreads())
    return f"the Dask cluster at {address} ({n_workers} workers at the start)"


def _short(value: object) -> str:
    """A parameter value for the summary: floats to 6 significant digits."""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def summarize(frame: pd.DataFrame, axes: list[str], seconds: float, where: str) -> str:
    """Counts per status, wall time, where it ran, and the first point not ok."""
    from rltutorial.progress import summarize_progress
    from rltutorial.sweep import STATUSES

    counts = frame["status"].value_counts()
    postfix = ", ".join(f"{counts.get(status, 0)} {status}" for status in STATUSES)
    n = len(frame)
    lines = [summarize_progress("sweep", n, n, "point", seconds, postfix)]
    lines.append(f"ran in {where}")
    bad = frame[frame["status"] != "ok"]
    if len(bad):
        row = bad.iloc[0]
        point = ", ".join(f"{name}={_short(row[name])}" for name in axes)
        error = " ".join(str(row["error"]).split())[:300]
        lines.append(f"first point not ok ({point}): {row['status']}: {error}")
    return "\n".join(lines)


def sweep_command(args: argparse.Namespace) -> tuple[str, int]:
    """Run the ``sweep`` command; return the summary and the exit code (0 or 1)."""
    from rltutorial.sweep import SweepInterrupted, grid, run_sweep

    spec = build_spec(args)
    check_spec(spec)
    table_format = _check_out(args.out, args.overwrite)
    start = time.perf_counter()
    try:
        with _connect(args.scheduler, args.workers) as client:
            where = _where(client)
            frame = run_sweep(
                spec.backend,
                grid(**spec.axes),
                client,
                retries=spec.retries,
                timeout=spec.timeout,
                progress=sys.stderr.isatty(),
                simulate_kwargs=spec.fixed,
            )
    except SweepInterrupted as interrupt:  # write what finished, then exit 130
        write_table(interrupt.table, args.out, table_format)
        raise KeyboardInterrupt(
            f"{interrupt.n_finished} of {len(interrupt.table)} points finished; table "
            f"written to {args.out} (unfinished points marked lost)"
        ) from None
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"no table written to {args.out}") from None
    seconds = time.perf_counter() - start
    write_table(frame, args.out, table_format)
    summary = summarize(frame, list(spec.axes), seconds, where)
    summary += f"\ntable: {args.out} ({len(frame)} rows)"
    failed = bool((frame["status"] != "ok").any())
    return summary, int(failed and not args.allow_failures)


def add_sweep_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` command and its options to ``commands``."""
    parser = commands.add_parser(
        "sweep",
        help="run a parameter sweep, one table row per point",
        description="Run a parameter sweep; write one row per point to --out.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to sweep")
    what.add_argument("--backend", help=f"one of {', '.join(SWEEP_COMMAND_BACKENDS)}")
    what.add_argument("--file", type=Path, help="YAML sweep file (see below)")
    what.add_argument(
        "--grid", action="append", metavar="NAME=START:STOP:NUM|NAME=V1,V2,...",
        help="a grid axis (repeat for more axes)",
    )  # fmt: skip
    what.add_argument(
        "--set", action="append", dest="settings", metavar="NAME=VALUE",
        help="a value shared by all points, or a backend option (repeatable)",
    )  # fmt: skip
    where = parser.add_argument_group("where (default: serially in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="e.g. tcp://HOST:8786")
    where.add_argument("--workers", type=int, metavar="N", help="start N local workers")
    how = parser.add_argument_group("how")
    how.add_argument("--timeout", type=float, metavar="S", help="limit per attempt, s")
    how.add_argument("--retries", type=int, metavar="N", help="extra attempts (0)")
    how.add_argument(
        "--allow-failures", action="store_true", help="exit 0 despite failed points"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out", type=Path, required=True, help="table: .csv, or .parquet (pyarrow)"
    )
    out.add_argument(
        "--overwrite", action="store_true", help="replace --out if it exists"
    )
