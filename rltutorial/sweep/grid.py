"""Parameter grids for sweeps: every combination of a few axes.

The rule for an axis value: a ``list``, ``tuple``, ``range``, 1-D numpy array or
pandas ``Series``/``Index`` gives its items, in order; text (``str``, ``bytes``), a
``dict`` and any other single value is one fixed value (``"abc"`` is never split into
characters). Sets, generators, iterators, dict views and other iterables are refused:
a set has no order (the rows would come in a different order in another Python
process) and a generator can be read only once — pass ``sorted(...)`` or
``list(...)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["grid"]


def grid(**axes: Iterable[Any] | Any) -> list[dict[str, Any]]:
    """All combinations of the given axis values, first axis varying slowest.

    Parameters
    ----------
    **axes : iterable or scalar
        Values of each parameter, e.g. ``q1=np.linspace(-10, 10, 5)`` or
        ``energy=[80e6, 120e6]``; a scalar is a fixed value. The items of a list are
        the values, so they may be lists themselves:
        ``net_arch=[[64, 64], [128, 128]]``. Keys that are not Python
        names work too: ``grid(**{"ele[27][6]": [-1200, -1100]})``.

    Returns
    -------
    list[dict[str, Any]]
        One dict per point, with plain Python numbers instead of numpy scalars.

    Raises
    ------
    ValueError
        If there is no axis, or an axis is empty, a numpy array of more than one
        dimension, or an unordered or one-shot iterable (a set, a generator; see
        the module docstring).
    """
    if not axes:
        raise ValueError("grid() needs at least one axis, e.g. grid(q1=[0.0, 1.0])")
    values = [_axis_values(name, axis) for name, axis in axes.items()]
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*values)]


def _axis_values(name: str, axis: Any) -> list[Any]:
    """Return one axis as a list of plain values (see the module docstring's rule)."""
    if isinstance(axis, (str, bytes, Mapping)):
        return [axis]
    ordered = isinstance(axis, Sequence) or hasattr(axis, "__array__")
    if not ordered and isinstance(axis, Iterable):
        raise ValueError(
            f"grid axis {name!r} is a {type(axis).__name__}, which has no fixed order "
            "or can be read only once; pass a list, e.g. sorted(values) for a set or "
            "list(values) for a generator"
        )
    if not ordered:
        return [_plain(axis)]
    if not isinstance(axis, Sequence):  # an array: 0-D is one value, 1-D its items
        if np.ndim(axis) == 0:
            return [_plain(axis)]
        if np.ndim(axis) > 1:
            raise ValueError(
                f"grid axis {name!r} must be 1-D, got shape {np.shape(axis)}"
            )
    values = [_plain(value) for value in axis]
    if not values:
        raise ValueError(f"grid axis {name!r} is empty")
    return values


def _plain(value: Any) -> Any:
    """numpy scalar -> Python scalar; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value
