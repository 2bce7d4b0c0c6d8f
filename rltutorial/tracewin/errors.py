"""Errors raised when running TraceWin or reading its files.

All derive from :class:`TraceWinError`; some also derive from the built-in
exception a caller may already catch (``FileNotFoundError``, ``TimeoutError``,
``ValueError``). All survive pickling, so they travel from Dask workers intact.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "TraceWinError",
    "TraceWinExitError",
    "TraceWinFormatError",
    "TraceWinNotFoundError",
    "TraceWinOutputMissingError",
    "TraceWinReportedError",
    "TraceWinTimeoutError",
]


class TraceWinError(Exception):
    """Base class of every TraceWin error raised by :mod:`rltutorial`.

    Parameters
    ----------
    message : str
        Human-readable description, including what to do about it.
    calc_dir : Path or None
        Calculation directory of the failed run, if any (kept for inspection).
    returncode : int or None
        Exit code of the TraceWin process, if it finished.
    output_tail : str
        Last lines of TraceWin's own output (stdout and stderr), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        calc_dir: Path | None = None,
        returncode: int | None = None,
        output_tail: str = "",
    ) -> None:
        super().__init__(message)
        self.calc_dir = calc_dir
        self.returncode = returncode
        self.output_tail = output_tail


class TraceWinFormatError(TraceWinError, ValueError):
    """A TraceWin file is truncated, corrupt or not in the expected layout."""


class TraceWinNotFoundError(TraceWinError, FileNotFoundError):
    """The TraceWin executable cannot be found."""


class TraceWinExitError(TraceWinError):
    """TraceWin exited with a non-zero exit code."""


class TraceWinReportedError(TraceWinError):
    """TraceWin printed one or more ``error:`` messages."""


class TraceWinTimeoutError(TraceWinError, TimeoutError):
    """TraceWin ran longer than the timeout; it was killed with all its descendants."""


class TraceWinOutputMissingError(TraceWinError, FileNotFoundError):
    """TraceWin finished but did not write the expected output file."""
