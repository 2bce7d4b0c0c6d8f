"""Run TraceWin (CEA's beam dynamics code) from Python and read its output files.

TraceWin is closed-source and licensed; it is never shipped with this package. Point
:class:`TraceWin` to the headless executable (``tracelx64``) with its ``executable``
argument or the ``TRACEWIN_EXE`` environment variable.

A run is the command line TraceWin documents::

    tracelx64 /abs/project.ini hide path_cal=/abs/calc_dir nbr_part1=10000 \
        ele[27][6]=-1200

Every run gets its own fresh calculation directory, so concurrent runs never share
files. Failures raise a subclass of :class:`TraceWinError`:

==================================  ==================================================
:class:`TraceWinNotFoundError`      the executable cannot be found
:class:`TraceWinReportedError`      TraceWin printed ``error: ...``
:class:`TraceWinExitError`          non-zero exit code
:class:`TraceWinTimeoutError`       run exceeded ``timeout`` (process tree killed);
                                    also a :class:`TimeoutError`
:class:`TraceWinOutputMissingError` no ``partran1.out`` / ``tracewin.out``
:class:`TraceWinFormatError`        an output file is truncated or corrupt
==================================  ==================================================

Submodules: :mod:`~rltutorial.tracewin.runner` (the subprocess),
:mod:`~rltutorial.tracewin.params` (command-line parameters),
:mod:`~rltutorial.tracewin.process` (process group, killing the process tree),
:mod:`~rltutorial.tracewin.formats` (``partran1.out`` and ``.dst`` files),
:mod:`~rltutorial.tracewin.errors`.

Examples
--------
With a licensed TraceWin (so not a doctest)::

    from rltutorial.tracewin import TraceWin

    tw = TraceWin("lattice/project.ini", executable="/opt/tracewin/tracelx64")
    result = tw.run({"nbr_part1": 10000, "ele[27][6]": -1200}, timeout=600)
    result.partran[["z(m)", "SizeX"]].tail(1)
"""

from __future__ import annotations

from rltutorial.tracewin.errors import (
    TraceWinError,
    TraceWinExitError,
    TraceWinFormatError,
    TraceWinNotFoundError,
    TraceWinOutputMissingError,
    TraceWinReportedError,
    TraceWinTimeoutError,
)
from rltutorial.tracewin.formats import (
    DST_COLUMNS,
    DST_UNITS,
    read_dst,
    read_partran_out,
    read_tracewin_out,
    write_dst,
)
from rltutorial.tracewin.params import (
    DEFAULT_EXECUTABLE,
    EXECUTABLE_ENV_VAR,
    TRACEWIN_PARAMS,
    find_executable,
    format_params,
)
from rltutorial.tracewin.runner import OUTPUT_FILES, TraceWin, TraceWinResult

__all__ = [
    "DEFAULT_EXECUTABLE",
    "DST_COLUMNS",
    "DST_UNITS",
    "EXECUTABLE_ENV_VAR",
    "OUTPUT_FILES",
    "TRACEWIN_PARAMS",
    "TraceWin",
    "TraceWinError",
    "TraceWinExitError",
    "TraceWinFormatError",
    "TraceWinNotFoundError",
    "TraceWinOutputMissingError",
    "TraceWinReportedError",
    "TraceWinResult",
    "TraceWinTimeoutError",
    "find_executable",
    "format_params",
    "read_dst",
    "read_partran_out",
    "read_tracewin_out",
    "write_dst",
]
