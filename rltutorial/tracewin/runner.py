"""Run TraceWin in a subprocess: one fresh calculation directory per run.

See :mod:`rltutorial.tracewin` for an overview of the errors.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from rltutorial.tracewin.errors import (
    TraceWinExitError,
    TraceWinOutputMissingError,
    TraceWinReportedError,
    TraceWinTimeoutError,
)
from rltutorial.tracewin.formats import read_dst, read_partran_out
from rltutorial.tracewin.params import find_executable, format_params
from rltutorial.tracewin.process import (
    kill_process_tree,
    new_process_group_options,
    running,
)

__all__ = [
    "TraceWin",
    "TraceWinResult",
]

logger = logging.getLogger(__name__)

#: Output tables looked for in the calculation directory, first found wins.
OUTPUT_FILES: tuple[str, ...] = ("partran1.out", "tracewin.out")
DST_FILE = "part_dtl1.dst"
LOG_FILE = "tracewin_output.log"
_ERROR_LINE = re.compile(r"^\s*error\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)


@dataclass
class TraceWinResult:
    """Outcome of one successful TraceWin run.

    Attributes
    ----------
    calc_dir : Path
        The run's own calculation directory (kept until :meth:`cleanup`).
    partran : pandas.DataFrame
        The parsed ``partran1.out`` (or ``tracewin.out``) table, one row per element.
    output_file : Path
        The file ``partran`` was read from.
    command : tuple[str, ...]
        The exact command line that was run.
    params : dict
        The parameters of the run.
    returncode : int
        TraceWin's exit code (0).
    duration_s : float
        Wall time of the TraceWin process in s.
    stdout_tail : str
        Last lines of TraceWin's output; the whole output is in
        ``calc_dir / "tracewin_output.log"``.
    """

    calc_dir: Path
    partran: pd.DataFrame
    output_file: Path
    command: tuple[str, ...]
    params: dict = field(default_factory=dict)
    returncode: int = 0
    duration_s: float = 0.0
    stdout_tail: str = ""

    @cached_property
    def distribution(self) -> pd.DataFrame:
        """Final particle distribution ``part_dtl1.dst``, read on first access.

        Raises
        ------
        TraceWinOutputMissingError
            If TraceWin wrote no ``part_dtl1.dst`` (e.g. an envelope-only run).
        """
        path = self.calc_dir / DST_FILE
        if not path.is_file():
            raise TraceWinOutputMissingError(
                f"no {DST_FILE} in {self.calc_dir}; TraceWin writes it for "
                "multiparticle (partran) runs",
                calc_dir=self.calc_dir,
            )
        return read_dst(path)

    def cleanup(self) -> None:
        """Delete the calculation directory (after reading what you need)."""
        shutil.rmtree(self.calc_dir, ignore_errors=True)


class TraceWin:
    """A TraceWin project that can be run with different parameters.

    Parameters
    ----------
    project_ini : str or PathLike
        The project file (``.ini``); relative paths inside it are resolved by
        TraceWin.
    executable : str, PathLike or None
        Path or ``PATH`` name of the headless executable; None means
        ``$TRACEWIN_EXE`` if set, else ``tracelx64``. Looked up at each run, so a
        TraceWin object can be built where TraceWin is not installed.
    hide : bool
        Pass TraceWin's ``hide`` argument (no GUI).
    workdir : str, PathLike or None
        Parent of the per-run calculation directories; None means the system
        temporary directory.
    output_files : tuple[str, ...]
        Result tables to look for, first found wins.
    env : Mapping[str, str] or None
        Extra environment variables for TraceWin (e.g. licence settings).
    tail_lines : int
        Lines of TraceWin's output kept in results and error messages.

    Examples
    --------
    With TraceWin installed (so not a doctest)::

        tw = TraceWin("lattice/project.ini")
        result = tw.run({"nbr_part1": 10000, "ele[27][6]": -1200}, timeout=600)
        result.partran[["z(m)", "SizeX"]].tail(1)
    """

    def __init__(
        self,
        project_ini: str | os.PathLike,
        executable: str | os.PathLike | None = None,
        hide: bool = True,
        workdir: str | os.PathLike | None = None,
        output_files: tuple[str, ...] = OUTPUT_FILES,
        env: Mapping[str, str] | None = None,
        tail_lines: int = 20,
    ) -> None:
        self.project_ini = Path(project_ini).expanduser().resolve()
        if not self.project_ini.is_file():
            raise FileNotFoundError(f"TraceWin project {self.project_ini} not found")
        if not output_files:
            raise ValueError("output_files must name at least one file, got ()")
        if (
            isinstance(tail_lines, bool)
            or not isinstance(tail_lines, int)
            or tail_lines < 1
        ):
            raise ValueError(f"tail_lines must be an integer >= 1, got {tail_lines!r}")
        self.executable = executable
        self.hide = hide
        self.workdir = None if workdir is None else Path(workdir).expanduser().resolve()
        self.output_files = tuple(output_files)
        self.env = dict(env or {})
        self.tail_lines = tail_lines

    def command(self, params: Mapping[str, object], calc_dir: Path) -> list[str]:
        """Return the command line for ``params`` writing into ``calc_dir``.

        Raises
        ------
        ValueError
            If a parameter is invalid (see :func:`format_params`).
        TraceWinNotFoundError
            If the executable cannot be found.
        """
        arguments = format_params(params)
        return self._command(find_executable(self.executable), calc_dir, arguments)

    def _command(
        self, executable: Path, calc_dir: Path, arguments: list[str]
    ) -> list[str]:
        """Assemble ``EXE project.ini [hide] path_cal=DIR key=value ...``."""
        head = [str(executable), str(self.project_ini)]
        if self.hide:
            head.append("hide")
        return [*head, f"path_cal={calc_dir}", *arguments]

    def run(
        self, params: Mapping[str, object] | None = None, timeout: float | None = None
    ) -> TraceWinResult:
        """Run TraceWin once in a fresh calculation directory.

        Parameters
        ----------
        params : Mapping[str, object] or None
            TraceWin parameters, see :func:`format_params`.
        timeout : float or None
            Maximum wall time in s; on expiry TraceWin is killed with all its
            descendants (see :func:`~rltutorial.tracewin.process.kill_process_tree`).
            None waits forever.

        Returns
        -------
        TraceWinResult

        Raises
        ------
        ValueError
            For invalid parameters or a non-positive timeout.
        TraceWinError
            One of its subclasses, see the module docstring. The calculation
            directory of a failed run is kept (``error.calc_dir``).
        """
        params = dict(params or {})
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 s or None, got {timeout!r}")
        arguments = format_params(params)
        executable = find_executable(self.executable)
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
        calc_dir = Path(tempfile.mkdtemp(prefix="tracewin_", dir=self.workdir))
        command = self._command(executable, calc_dir, arguments)
        logger.debug("running %s", command)
        returncode, duration = self._execute(command, calc_dir, timeout)
        tail = self._tail(calc_dir)
        self._check_output(calc_dir, returncode, tail)
        output_file = self._find_output(calc_dir, tail)
        return TraceWinResult(
            calc_dir=calc_dir,
            partran=read_partran_out(output_file),
            output_file=output_file,
            command=tuple(command),
            params=params,
            returncode=returncode,
            duration_s=duration,
            stdout_tail=tail,
        )

    def _execute(
        self, command: list[str], calc_dir: Path, timeout: float | None
    ) -> tuple[int, float]:
        """Run ``command`` in a new process group; return (exit code, duration in s)."""
        env = {**os.environ, **self.env} if self.env else None
        start = time.perf_counter()
        with (calc_dir / LOG_FILE).open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=calc_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                **new_process_group_options(),
            )
            with running(process):
                try:
                    returncode = process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    survivors = kill_process_tree(process)
                    raise self._timeout_error(calc_dir, timeout, survivors) from None
                except BaseException:
                    kill_process_tree(process)
                    raise
        return returncode, time.perf_counter() - start

    def _timeout_error(
        self, calc_dir: Path, timeout: float | None, survivors: list[int]
    ) -> TraceWinTimeoutError:
        """Build the error for a run killed after ``timeout`` s."""
        killed = "was killed (with all its child processes)"
        if survivors:
            killed = f"was killed, but processes {survivors} survived"
        tail = self._tail(calc_dir)
        return TraceWinTimeoutError(
            f"TraceWin did not finish within {timeout} s and {killed}; "
            f"calculation directory: {calc_dir}\nlast output:\n{tail}",
            calc_dir=calc_dir,
            output_tail=tail,
        )

    def _tail(self, calc_dir: Path) -> str:
        """Return the last ``tail_lines`` lines of TraceWin's output."""
        path = calc_dir / LOG_FILE
        if not path.is_file():
            return ""
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 200 * self.tail_lines))
            text = log.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-self.tail_lines :])

    def _check_output(self, calc_dir: Path, returncode: int, tail: str) -> None:
        """Raise for ``error:`` lines in TraceWin's output or a non-zero exit code."""
        text = (calc_dir / LOG_FILE).read_text(errors="replace")
        messages = [message.strip() for message in _ERROR_LINE.findall(text)]
        if messages:
            raise TraceWinReportedError(
                f"TraceWin reported {len(messages)} error(s) (exit code {returncode}): "
                + "; ".join(messages)
                + f"\ncalculation directory: {calc_dir}",
                calc_dir=calc_dir,
                returncode=returncode,
                output_tail=tail,
            )
        if returncode != 0:
            raise TraceWinExitError(
                f"TraceWin exited with code {returncode}; calculation directory: "
                f"{calc_dir}\nlast output:\n{tail}",
                calc_dir=calc_dir,
                returncode=returncode,
                output_tail=tail,
            )

    def _find_output(self, calc_dir: Path, tail: str) -> Path:
        """Return the first existing file of ``output_files`` in ``calc_dir``."""
        for name in self.output_files:
            if (calc_dir / name).is_file():
                return calc_dir / name
        present = sorted(path.name for path in calc_dir.iterdir())
        raise TraceWinOutputMissingError(
            f"TraceWin finished (exit code 0) but wrote none of "
            f"{list(self.output_files)} in {calc_dir}; files present: {present}\n"
            f"last output:\n{tail}",
            calc_dir=calc_dir,
            returncode=0,
            output_tail=tail,
        )
