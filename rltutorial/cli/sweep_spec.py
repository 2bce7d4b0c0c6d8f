"""What a sweep from the shell runs: grid syntax, sweep files, names per backend.

``--grid NAME=START:STOP:NUM`` is ``numpy.linspace(START, STOP, NUM)`` and
``--grid NAME=V1,V2,...`` lists values; ``--set NAME=VALUE`` fixes a value for every
point. A YAML sweep file holds the same (read with :func:`rltutorial.safe_yaml.load_yaml`)::

    backend: tracewin
    grid:
      ele[27][6]: {start: -1300, stop: -1100, num: 5}   # numpy.linspace
      current1: [1.0, 2.0]
    fixed: {project: lattice/, nbr_part1: 10000}
    timeout: 600
    retries: 1

Write ``START:STOP:NUM`` in a file in quotes (``"-30:30:20"``): unquoted, YAML 1.1
reads ``30:30:20`` as a base-60 number. ``1e8`` is the number 100000000.0 (the
bounded loader reads exponents as YAML 1.2 does), and so is text that looks like a
number (``"1e8"``). The loader refuses aliases, duplicate keys and oversized files.

Names are checked against the backend (:data:`SWEEP_COMMAND_BACKENDS`) before any
simulation runs; the error names the bad name and the valid choices.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rltutorial.checks import short_repr
from rltutorial.registry import lookup, unknown_name_error

#: Most points one sweep from the command line runs (all axes together).
MAX_SWEEP_POINTS = 1_000_000
#: Most extra attempts per point.
MAX_RETRIES = 100
#: Longest time limit per attempt, in s (about 116 days; longer ones overflow timers).
MAX_TIMEOUT_S = 1e7

__all__ = [
    "MAX_SWEEP_POINTS",
    "SWEEP_COMMAND_BACKENDS",
    "CommandLineBackend",
    "SweepSpec",
    "build_spec",
    "check_spec",
    "parse_axis",
    "read_sweep_file",
]


@dataclass(frozen=True)
class CommandLineBackend:
    """What the command line may pass to one sweep backend.

    Attributes
    ----------
    check_parameter : callable
        ``check_parameter(name)`` raises ValueError, naming the valid choices, unless
        the backend can sweep the parameter ``name``.
    options : Mapping[str, str]
        Backend arguments that only ``--set`` may give, name -> meaning.
    required : tuple of str
        Options without which the backend cannot run.
    """

    check_parameter: Callable[[str], None]
    options: Mapping[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()


def _check_cheetah_parameter(name: str) -> None:
    """Raise unless ``name`` is a magnet (q1, q2, cv, q3, ch) or an incoming-beam name
    (plain or ``incoming_<name>``; see :func:`rltutorial.sweep.cheetah_parameters`)."""
    from rltutorial.sweep.cheetah import cheetah_parameters

    valid = list(cheetah_parameters())
    if name not in valid:
        raise unknown_name_error(name, valid, "cheetah parameter")


def _check_tracewin_parameter(name: str) -> None:
    """Raise unless ``name`` is a TraceWin key or ``ele[n][v]`` (TraceWin's own check)."""
    from rltutorial.tracewin import format_params

    format_params({name: 0})


#: Backends the command line offers, name -> what it may pass to them.
SWEEP_COMMAND_BACKENDS: dict[str, CommandLineBackend] = {
    "cheetah": CommandLineBackend(_check_cheetah_parameter),
    "tracewin": CommandLineBackend(
        _check_tracewin_parameter,
        options={
            "project": "TraceWin project folder or its .ini file",
            "executable": "TraceWin executable on the workers",
            "keep_calc_dir": "true keeps every calculation directory",
        },
        required=("project",),
    ),
}


@dataclass
class SweepSpec:
    """A sweep as a sweep file and the command line describe it."""

    backend: str | None = None
    axes: dict[str, list[Any]] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    retries: int = 0


def parse_value(text: str) -> int | float | bool | str:
    """``"3"`` -> 3, ``"-1.5e-3"`` -> -0.0015, ``"true"`` -> True, anything else as is."""
    words = {"true": True, "false": False}
    if text.strip().lower() in words:
        return words[text.strip().lower()]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """Parse ``NAME=START:STOP:NUM`` (numpy.linspace) or ``NAME=V1,V2,...``.

    Raises
    ------
    ValueError
        Naming the text and the expected form.
    """
    name, values = _split(text, "--grid", "NAME=START:STOP:NUM or NAME=V1,V2,...")
    return name, _axis_from_text(name, values)


def _split(text: str, option: str, form: str) -> tuple[str, str]:
    """Split ``NAME=VALUE`` at the first ``=``; raise naming ``form`` if malformed."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"{option} {text!r}: expected {form}")
    return name.strip(), value.strip()


def _axis_from_text(name: str, text: str) -> list[Any]:
    """Values of one axis from ``START:STOP:NUM`` or ``V1,V2,...``."""
    if ":" in text:
        parts = text.split(":")
        try:
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            num = None
        if num is None or len(parts) != 3:
            raise ValueError(
                f"grid axis {name!r}: {text!r} is not START:STOP:NUM (numbers, NUM a "
                "whole number), e.g. -30:30:20"
            )
        return _linspace(name, start, stop, num)
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise ValueError(f"grid axis {name!r}: empty value in {text!r}")
    return [parse_value(item) for item in items]


def _linspace(name: str, start: Any, stop: Any, num: Any) -> list[float]:
    """``numpy.linspace(start, stop, num)`` as a list, after checking the numbers."""
    import numpy as np

    ends_ok = all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for v in (start, stop)
    )
    if (
        not ends_ok
        or isinstance(num, bool)
        or not isinstance(num, int)
        or not 1 <= num <= MAX_SWEEP_POINTS
    ):
        raise ValueError(
            f"grid axis {name!r}: linspace needs finite start and stop and a whole "
            f"num from 1 to {MAX_SWEEP_POINTS:,}, got start={short_repr(start)}, "
            f"stop={short_repr(stop)}, num={short_repr(num)}"
        )
    return np.linspace(start, stop, num).tolist()


def _file_axis(name: str, value: Any) -> list[Any]:
    """Values of a sweep file's axis: a list, ``{start, stop, num}`` or text.

    A bare number is refused: it is most likely ``START:STOP:NUM`` without quotes,
    which YAML 1.1 reads as one base-60 number (``30:30:20`` -> 109820).
    """
    if isinstance(value, str):
        return _axis_from_text(name, value)
    if isinstance(value, Mapping):
        if set(map(str, value)) != {"start", "stop", "num"}:
            raise ValueError(
                f"grid axis {name!r}: a mapping must have exactly the keys start, "
                f"stop, num, got {sorted(map(str, value))}"
            )
        return _linspace(name, value["start"], value["stop"], value["num"])
    if not isinstance(value, list):
        raise ValueError(
            f"grid axis {name!r} is the single value {value!r}: write a list, "
            "{start: A, stop: B, num: N} or a quoted 'START:STOP:NUM' (unquoted, "
            "YAML reads 30:30:20 as one base-60 number); fixed values go under 'fixed'"
        )
    if not value:
        raise ValueError(f"grid axis {name!r} is empty")
    return [_from_text(v) for v in value]


def _from_text(value: Any) -> Any:
    """A YAML value, numbers in text form (``1e8``, which YAML 1.1 keeps) as numbers."""
    return parse_value(value) if isinstance(value, str) else value


def read_sweep_file(path: Path) -> SweepSpec:
    """Read a YAML sweep file (``backend``, ``grid``, ``fixed``, ``timeout``, ``retries``).

    Raises
    ------
    ValueError
        If the file cannot be read, is not YAML, or holds unknown keys or bad values.
    """
    from rltutorial.safe_yaml import load_yaml

    try:
        data = load_yaml(path)
    except OSError as error:
        reason = error.strerror or error
        raise ValueError(f"cannot read sweep file {path}: {reason}") from None
    except ValueError as error:
        raise ValueError(f"sweep file {error}") from None
    data = {} if data is None else data
    keys = ("backend", "grid", "fixed", "timeout", "retries")
    if not isinstance(data, Mapping):
        raise ValueError(f"sweep file {path} must hold a mapping with keys {keys}")
    for key in data:
        if key not in keys:
            raise ValueError(
                f"{path}: {unknown_name_error(key, keys, 'sweep file key')}"
            )
    for key in ("grid", "fixed"):
        if not isinstance(data.get(key, {}), Mapping):
            raise ValueError(f"{path}: {key!r} must be a mapping of names to values")
    axes = {str(k): _file_axis(str(k), v) for k, v in data.get("grid", {}).items()}
    fixed = {str(k): v for k, v in data.get("fixed", {}).items()}
    _refuse_overlap(axes, fixed, f"under both 'grid' and 'fixed' in {path}")
    return SweepSpec(
        backend=data.get("backend"),
        axes=axes,
        fixed={name: _from_text(value) for name, value in fixed.items()},
        timeout=_from_text(data.get("timeout")),
        retries=data.get("retries", 0),
    )


def _unique(option: str, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``dict(pairs)``, refusing a name given twice."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"{option} {name!r} given twice")
        result[name] = value
    return result


def _refuse_overlap(
    axes: Mapping[str, Any], fixed: Mapping[str, Any], how: str
) -> None:
    """Refuse a name that is both a grid axis and a fixed value."""
    both = sorted(set(axes) & set(fixed))
    if both:
        raise ValueError(f"{both} {how}: a name is either swept or fixed")


def build_spec(args: argparse.Namespace) -> SweepSpec:
    """The sweep file (if any) overlaid with the command line's options."""
    spec = read_sweep_file(args.file) if args.file is not None else SweepSpec()
    axes = _unique("--grid", [parse_axis(text) for text in args.grid or []])
    fixed = _unique(
        "--set", [_split(t, "--set", "NAME=VALUE") for t in args.settings or []]
    )
    _refuse_overlap(axes, fixed, "given with both --grid and --set")
    for name in [*axes, *fixed]:  # the command line wins over the file
        spec.axes.pop(name, None)
        spec.fixed.pop(name, None)
    spec.axes.update(axes)
    spec.fixed.update({name: parse_value(value) for name, value in fixed.items()})
    spec.backend = args.backend or spec.backend
    spec.timeout = args.timeout if args.timeout is not None else spec.timeout
    spec.retries = args.retries if args.retries is not None else spec.retries
    return spec


def check_spec(spec: SweepSpec) -> None:
    """Refuse a sweep the backend cannot run, naming the bad value and the choices.

    Raises
    ------
    ValueError
        For a missing or unknown backend, no grid, an unknown name, a missing
        required option, a timeout or number of retries out of range, or more than
        :data:`MAX_SWEEP_POINTS` points.
    """
    if spec.backend is None:
        raise ValueError("no backend: give --backend NAME or 'backend:' in --file")
    backend = lookup(SWEEP_COMMAND_BACKENDS, spec.backend, "sweep backend")
    if not spec.axes:
        raise ValueError(
            "no grid: give --grid NAME=START:STOP:NUM (or 'grid:' in --file)"
        )
    for name in spec.axes:
        if name in backend.options:
            raise ValueError(
                f"{name!r} is an option of the {spec.backend} backend, not a "
                f"parameter to sweep: give it with --set {name}=..."
            )
        backend.check_parameter(name)
    for name in spec.fixed:
        if name not in backend.options:
            _check_fixed(backend, name)
    for name in backend.required:
        if name not in spec.fixed:
            raise ValueError(
                f"the {spec.backend} backend needs --set {name}=... "
                f"({backend.options[name]})"
            )
    _check_limits(spec.timeout, spec.retries)
    _check_size(spec.axes)


def _check_size(axes: Mapping[str, list[Any]]) -> None:
    """Refuse a grid of more than :data:`MAX_SWEEP_POINTS` points."""
    points = math.prod(len(values) for values in axes.values())
    if points > MAX_SWEEP_POINTS:
        sizes = " × ".join(f"{len(values):,} ({name})" for name, values in axes.items())
        raise ValueError(
            f"the grid has {sizes} = {points:,} points; a sweep runs at most "
            f"{MAX_SWEEP_POINTS:,}"
        )


def _check_fixed(backend: CommandLineBackend, name: str) -> None:
    """Check a ``--set`` name that is not an option; name the options if it fails."""
    try:
        backend.check_parameter(name)
    except ValueError as error:
        if not backend.options:
            raise
        options = ", ".join(backend.options)
        raise ValueError(f"{error}; or an option of the backend: {options}") from None


def _check_limits(timeout: Any, retries: Any) -> None:
    """Refuse a timeout not in (0, :data:`MAX_TIMEOUT_S`] s and retries that are not a
    whole number from 0 to :data:`MAX_RETRIES`."""
    number = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if timeout is not None and not (number and 0 < timeout <= MAX_TIMEOUT_S):
        raise ValueError(
            f"timeout must be a number of seconds > 0 and at most {MAX_TIMEOUT_S:g}, "
            f"got {short_repr(timeout)}"
        )
    if (
        isinstance(retries, bool)
        or not isinstance(retries, int)
        or not 0 <= retries <= MAX_RETRIES
    ):
        raise ValueError(
            f"retries must be a whole number from 0 to {MAX_RETRIES}, got "
            f"{short_repr(retries)}"
        )
