"""Readers and writers for TraceWin's output files.

Contents
--------
- :func:`read_partran_out` reads ``partran1.out`` / ``tracewin.out`` (beam statistics
  at every element) into a :class:`pandas.DataFrame`.
- :func:`read_dst` / :func:`write_dst` read and write ``.dst`` particle
  distributions (binary, little-endian).
- :class:`~rltutorial.tracewin.errors.TraceWinFormatError` is raised for truncated
  or corrupt files.

The formats follow the TraceWin documentation (CEA). TraceWin itself is
closed-source and not shipped with this package: the parsers work on any file with
these layouts, for example ones copied from a machine that has TraceWin.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from rltutorial.tracewin.errors import TraceWinFormatError

__all__ = [
    "DST_COLUMNS",
    "read_dst",
    "read_partran_out",
    "read_tracewin_out",
    "write_dst",
]

logger = logging.getLogger(__name__)

#: Names of the values on the second line of ``partran1.out``, in file order:
#: rest mass (MeV), RF frequency (MHz), position (m), current (mA), particle count.
PARTRAN_SUMMARY_FIELDS: tuple[str, ...] = ("mc2", "freq", "z", "current", "npart")

#: Column names of a particle distribution, in file order.
DST_COLUMNS: tuple[str, ...] = ("x", "xp", "y", "yp", "phase", "energy")

#: Units of :data:`DST_COLUMNS` as written by TraceWin.
DST_UNITS: dict[str, str] = {
    "x": "cm",
    "xp": "rad",
    "y": "cm",
    "yp": "rad",
    "phase": "rad",
    "energy": "MeV",
}

# Little-endian header: 2 x int8 (format marker), int32 particle count,
# float64 current (mA), float64 frequency (MHz), 1 x int8 (unused).
_DST_HEADER = struct.Struct("<2bidd b")
_DST_MARKER = (125, 100)
_DST_TRAILER = struct.Struct("<d")
_DST_PARTICLE_BYTES = 8 * len(DST_COLUMNS)
_HEADER_TOKEN = "##"
_MAX_PREAMBLE_LINES = 50


def read_partran_out(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``partran1.out`` or ``tracewin.out`` table.

    Layout: a preamble of 9 lines, the second of which holds ``mc2 freq z I npart``;
    then a header line whose first token is ``##`` (the element number) followed
    by column names such as ``z(m)``, ``gama-1``, ``x0``, ``SizeX``; then one
    whitespace-separated row per element.

    Parameters
    ----------
    path : str or PathLike
        File to read.

    Returns
    -------
    pandas.DataFrame
        One row per element. The ``##`` column is named ``element`` (int); the other
        columns keep TraceWin's names and units (e.g. ``z(m)`` in m). When the
        second line holds the five summary numbers, they are stored in
        ``df.attrs``: ``mc2`` (MeV), ``freq`` (MHz), ``z`` (m), ``current`` (mA)
        and ``npart``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    TraceWinFormatError
        If there is no ``##`` header line, a row has the wrong number of values,
        a value is not a number, or there are no rows.
    """
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines()
    header_index = _find_header(lines, path)
    columns = _column_names(lines[header_index].split())
    values = _parse_rows(lines, header_index + 1, len(columns), path)
    frame = pd.DataFrame(values, columns=columns)
    frame["element"] = frame["element"].astype(np.int64)
    frame.attrs.update(_parse_summary(lines, header_index, path))
    frame.attrs["source"] = str(path)
    return frame


#: ``tracewin.out`` (envelope code) has the same layout as ``partran1.out``.
read_tracewin_out = read_partran_out


def _find_header(lines: list[str], path: Path) -> int:
    """Return the index of the ``##`` header line."""
    for index, line in enumerate(lines[:_MAX_PREAMBLE_LINES]):
        tokens = line.split()
        if tokens and tokens[0] == _HEADER_TOKEN:
            return index
    raise TraceWinFormatError(
        f"{path}: no header line starting with '{_HEADER_TOKEN}' in the first "
        f"{_MAX_PREAMBLE_LINES} lines ({len(lines)} lines in the file); "
        "is this a partran1.out / tracewin.out file, and was it written completely?"
    )


def _column_names(tokens: list[str]) -> list[str]:
    """Turn header tokens into unique column names, ``##`` -> ``element``."""
    names = ["element"]
    seen = {"element": 1}
    for token in tokens[1:]:
        count = seen.get(token, 0)
        names.append(token if count == 0 else f"{token}.{count}")
        seen[token] = count + 1
    return names


def _parse_rows(lines: list[str], start: int, n_columns: int, path: Path) -> np.ndarray:
    """Parse the data rows below the header into a float array (rows, columns)."""
    rows = []
    for number, line in enumerate(lines[start:], start=start + 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != n_columns:
            raise TraceWinFormatError(
                f"{path}, line {number}: {len(tokens)} values, expected {n_columns} "
                "(one per header column); the file may be truncated or corrupt"
            )
        try:
            rows.append([float(token) for token in tokens])
        except ValueError as error:
            raise TraceWinFormatError(f"{path}, line {number}: {error}") from None
    if not rows:
        raise TraceWinFormatError(f"{path}: header found but no data rows")
    return np.asarray(rows, dtype=np.float64)


def _parse_summary(lines: list[str], header_index: int, path: Path) -> dict:
    """Read ``mc2 freq z I npart`` from the second line, if it holds them."""
    if header_index < 2:
        return {}
    tokens = lines[1].split()
    try:
        numbers = [float(token) for token in tokens[: len(PARTRAN_SUMMARY_FIELDS)]]
    except ValueError:
        numbers = []
    if len(numbers) < len(PARTRAN_SUMMARY_FIELDS):
        logger.warning("%s: second line has no 'mc2 freq z I npart' summary", path)
        return {}
    summary = dict(zip(PARTRAN_SUMMARY_FIELDS, numbers, strict=True))
    summary["npart"] = int(summary["npart"])
    return summary


def read_dst(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TraceWin ``.dst`` particle distribution.

    Binary little-endian layout: 2 x int8 marker, int32 particle count ``N``,
    float64 beam current (mA), float64 frequency (MHz), 1 x int8, then ``N`` x 6
    float64 (x, x', y, y', phase, energy), then float64 rest mass (MeV).

    Parameters
    ----------
    path : str or PathLike
        File to read.

    Returns
    -------
    pandas.DataFrame
        ``N`` rows, columns :data:`DST_COLUMNS`: ``x`` (cm), ``xp`` (rad), ``y`` (cm),
        ``yp`` (rad), ``phase`` (rad), ``energy`` (MeV, kinetic). ``df.attrs`` holds
        ``current`` (mA), ``frequency`` (MHz), ``mass`` (MeV) and ``units``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    TraceWinFormatError
        If the file is shorter or longer than its header announces, or the particle
        count is negative.
    """
    path = Path(path)
    data = path.read_bytes()
    n_particles, current, frequency = _unpack_dst_header(data, path)
    expected = _DST_HEADER.size + n_particles * _DST_PARTICLE_BYTES + _DST_TRAILER.size
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "longer than expected"
        raise TraceWinFormatError(
            f"{path}: {problem}: the header announces {n_particles} particles, "
            f"i.e. {expected} bytes, but the file has {len(data)} bytes"
        )
    particles = np.frombuffer(
        data, dtype="<f8", count=n_particles * len(DST_COLUMNS), offset=_DST_HEADER.size
    ).reshape(n_particles, len(DST_COLUMNS))
    (mass,) = _DST_TRAILER.unpack_from(data, expected - _DST_TRAILER.size)
    frame = pd.DataFrame(particles.astype(np.float64), columns=list(DST_COLUMNS))
    frame.attrs.update(
        current=current, frequency=frequency, mass=mass, units=dict(DST_UNITS)
    )
    return frame


def _unpack_dst_header(data: bytes, path: Path) -> tuple[int, float, float]:
    """Return (particle count, current in mA, frequency in MHz) from a .dst header."""
    if len(data) < _DST_HEADER.size:
        raise TraceWinFormatError(
            f"{path}: truncated: {len(data)} bytes, a .dst header alone has "
            f"{_DST_HEADER.size} bytes"
        )
    marker_a, marker_b, n_particles, current, frequency, _ = _DST_HEADER.unpack_from(
        data
    )
    if (marker_a, marker_b) != _DST_MARKER:
        logger.debug("%s: unusual .dst marker %s", path, (marker_a, marker_b))
    if n_particles < 0:
        raise TraceWinFormatError(
            f"{path}: corrupt header: negative particle count {n_particles}"
        )
    return n_particles, current, frequency


def write_dst(
    path: str | os.PathLike,
    particles: pd.DataFrame | np.ndarray,
    *,
    current: float,
    frequency: float,
    mass: float,
) -> Path:
    """Write a TraceWin ``.dst`` particle distribution (e.g. for ``dst_file1``).

    Parameters
    ----------
    path : str or PathLike
        File to write (overwritten).
    particles : DataFrame or ndarray (N, 6)
        x (cm), x' (rad), y (cm), y' (rad), phase (rad), kinetic energy (MeV); a
        DataFrame must have the columns :data:`DST_COLUMNS`.
    current : float
        Beam current in mA.
    frequency : float
        Bunch frequency in MHz.
    mass : float
        Particle rest mass in MeV.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        If ``particles`` is not (N, 6) or lacks a column.
    """
    if isinstance(particles, pd.DataFrame):
        missing = sorted(set(DST_COLUMNS) - set(particles.columns))
        if missing:
            raise ValueError(
                f"particles lacks columns {missing}; needs {sorted(DST_COLUMNS)}"
            )
        particles = particles[list(DST_COLUMNS)].to_numpy()
    array = np.ascontiguousarray(particles, dtype="<f8")
    if array.ndim != 2 or array.shape[1] != len(DST_COLUMNS):
        raise ValueError(
            f"particles must have shape (N, {len(DST_COLUMNS)}), got {array.shape}"
        )
    path = Path(path)
    header = _DST_HEADER.pack(*_DST_MARKER, len(array), current, frequency, 0)
    path.write_bytes(header + array.tobytes() + _DST_TRAILER.pack(mass))
    return path
