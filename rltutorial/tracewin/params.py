"""TraceWin's command-line parameters and where its executable is.

TraceWin takes ``key=value`` arguments after the project file: the documented keys
in :data:`TRACEWIN_PARAMS` and ``ele[n][v]`` (parameter ``v`` of element ``n``).
"""

from __future__ import annotations

import numbers
import os
import re
import shutil
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from rltutorial.tracewin.errors import TraceWinNotFoundError

__all__ = [
    "EXECUTABLE_ENV_VAR",
    "find_executable",
    "format_params",
]

DEFAULT_EXECUTABLE = "tracelx64"
EXECUTABLE_ENV_VAR = "TRACEWIN_EXE"

#: Command-line keys TraceWin documents (besides ``ele[n][v]``); the trailing 1 is
#: the main beam.
TRACEWIN_PARAMS: frozenset[str] = frozenset(
    {
        "charge1",
        "current1",
        "dat_file",
        "dst_file1",
        "eln1",
        "energy1",
        "etnx1",
        "etny1",
        "freq1",
        "mass1",
        "nbr_part1",
        "nbr_thread",
    }
)
_ELEMENT_PARAM = re.compile(r"ele\[([0-9]+)\]\[([0-9]+)\]")
_MANAGED_PARAMS = frozenset({"hide", "path_cal"})


def find_executable(executable: str | os.PathLike | None = None) -> Path:
    """Locate the TraceWin executable.

    Parameters
    ----------
    executable : str, PathLike or None
        A path, or a name looked up on ``PATH``. None means the ``TRACEWIN_EXE``
        environment variable if set, else ``tracelx64``.

    Returns
    -------
    Path
        Absolute path of an executable file.

    Raises
    ------
    TraceWinNotFoundError
        If it does not exist or is not executable; the message says how to point
        to it.
    """
    name = executable if executable is not None else os.environ.get(EXECUTABLE_ENV_VAR)
    name = os.fspath(name) if name else DEFAULT_EXECUTABLE
    found = shutil.which(name)
    if found is None:
        source = "argument" if executable is not None else "default"
        if executable is None and os.environ.get(EXECUTABLE_ENV_VAR):
            source = f"${EXECUTABLE_ENV_VAR}"
        raise TraceWinNotFoundError(
            f"TraceWin executable {name!r} ({source}) not found or not executable. "
            "TraceWin is licensed by CEA and not shipped with rltutorial: pass "
            "TraceWin(..., executable='/path/to/tracelx64') or set the environment "
            f"variable {EXECUTABLE_ENV_VAR}=/path/to/tracelx64."
        )
    return Path(found).resolve()


def format_params(params: Mapping[str, object]) -> list[str]:
    """Validate TraceWin parameters and turn them into ``key=value`` arguments.

    Parameters
    ----------
    params : Mapping[str, object]
        Keys from :data:`TRACEWIN_PARAMS` or ``ele[n][v]`` (n: element number,
        v: parameter index, both non-negative integers); values are numbers,
        strings or paths.

    Returns
    -------
    list[str]
        ``["key=value", ...]`` in the order given.

    Raises
    ------
    ValueError
        For an unknown key (lists the valid ones), a key the wrapper manages
        (``hide``, ``path_cal``), a key or value with a control character (NUL
        byte, newline, ...), a non-finite number, a bool, or a value with
        whitespace; the message names the parameter.
    """
    return [f"{key}={_format_value(key, value)}" for key, value in params.items()]


def _check_key(key: object) -> None:
    """Raise ValueError unless ``key`` is a documented TraceWin parameter."""
    char = _control_char(key) if isinstance(key, str) else None
    if char is not None:
        raise ValueError(
            f"TraceWin parameter name {key!r} holds the control character {char!r}; "
            "parameter names are plain text like 'nbr_part1' or 'ele[27][6]'"
        )
    if key in _MANAGED_PARAMS:
        raise ValueError(
            f"TraceWin parameter {key!r} is set by the wrapper (use the hide= and "
            "workdir= arguments of TraceWin instead)"
        )
    if key in TRACEWIN_PARAMS or (
        isinstance(key, str) and _ELEMENT_PARAM.fullmatch(key)
    ):
        return
    raise ValueError(
        f"unknown TraceWin parameter {key!r}; valid keys are {sorted(TRACEWIN_PARAMS)} "
        "and 'ele[n][v]' with integers n (element number) and v (parameter index), "
        "e.g. 'ele[27][6]'"
    )


def _format_value(key: str, value: object) -> str:
    """Return the command-line text of one parameter value."""
    _check_key(key)
    if isinstance(value, bool) or not isinstance(
        value, (numbers.Real, str, os.PathLike)
    ):
        raise ValueError(
            f"TraceWin parameter {key!r}: value {value!r} of type "
            f"{type(value).__name__} is not a number, string or path"
        )
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"TraceWin parameter {key!r}: value {value!r} not finite")
        return repr(number)
    text = os.fsdecode(value)
    char = _control_char(text)
    if char is not None:
        raise ValueError(
            f"TraceWin parameter {key!r}: value {text!r} holds the control character "
            f"{char!r}, which cannot be passed on TraceWin's command line"
        )
    if not text or any(char.isspace() for char in text):
        raise ValueError(
            f"TraceWin parameter {key!r}: value {text!r} is empty or has whitespace"
        )
    return text


def _control_char(text: str) -> str | None:
    """Return the first control character (NUL, newline, ...) in ``text``, if any."""
    return next((char for char in text if unicodedata.category(char) == "Cc"), None)
