"""Validators for settings given as plain values: each checks one value and names it.

A check is a function ``check(key, value)`` that returns nothing for a valid value and
raises ``ValueError("Config key 'key' must be …, got …")`` otherwise. The config schema
(:mod:`rltutorial.config`) and the partial-observability settings
(:mod:`rltutorial.observability`) are dicts of such checks. Values in messages are shown
as their ``repr``, cut to a few hundred characters, so a huge value cannot flood the
terminal.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np

from rltutorial.registry import did_you_mean

__all__ = [
    "Check",
    "fail",
    "choice",
    "number",
    "vector",
    "subset",
    "flag",
    "folder_name",
    "is_folder_name",
    "bounds",
    "layers",
    "settings",
    "unknown_keys_error",
]

Check = Callable[[str, Any], None]

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 120
_REPR.maxlist = _REPR.maxdict = 12
_REPR.maxlevel = 3


def short_repr(value: Any) -> str:
    """``repr(value)``, shortened to at most a few hundred characters."""
    return _REPR.repr(value)[:300]


def fail(key: str, value: Any, expected: str, hint: str = "") -> None:
    """Raise the ValueError for ``key`` holding ``value`` instead of ``expected``."""
    raise ValueError(
        f"Config key {key!r} must be {expected}, got {short_repr(value)}.{hint}"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_finite(value: Any) -> bool:
    """A finite number; an integer too large for a float (``10**400``) is not."""
    try:
        return _is_number(value) and bool(np.isfinite(float(value)))
    except OverflowError:
        return False


def _is_integer(value: Any) -> bool:
    """An int or numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _same_kind(value: Any, item: Any) -> bool:
    """Whether ``value`` may stand for ``item``: both text or both integers."""
    if isinstance(item, str):
        return isinstance(value, str)
    return _is_integer(value) and _is_integer(item)


def choice(registry: Callable[[], Collection[str]]) -> Check:
    """Check that a value is one of the names ``registry()`` holds at validation time."""

    def check(key: str, value: Any) -> None:
        names = sorted(registry())
        if not isinstance(value, str) or value not in names:
            hint = did_you_mean(value, names)
            fail(key, value, f"one of {', '.join(map(repr, names))}", hint)

    return check


def number(
    low: float = -np.inf,
    high: float = np.inf,
    optional: bool = False,
    integer: bool = False,
) -> Check:
    """Check a (possibly optional, possibly integer) number within [low, high]."""

    def check(key: str, value: Any) -> None:
        if value is None and optional:
            return
        kind = "an integer" if integer else "a number"
        ok = _is_finite(value) and (not integer or float(value).is_integer())
        if not ok or not low <= value <= high:
            fail(
                key,
                value,
                f"{kind} in [{low:g}, {high:g}]" + (" or None" if optional else ""),
            )

    return check


def vector(
    size: int, optional: bool = False, limits: np.ndarray | None = None
) -> Check:
    """Check a list of ``size`` finite numbers, each within ±``limits`` if given."""

    def check(key: str, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != size:
            fail(
                key,
                value,
                f"a list of {size} numbers" + (" or None" if optional else ""),
            )
        if not all(_is_finite(v) for v in value):
            fail(key, value, f"a list of {size} finite numbers")
        if limits is not None and np.any(np.abs(np.asarray(value, float)) > limits):
            shown = ", ".join(f"{limit:g}" for limit in limits)
            fail(key, value, f"a list of {size} numbers within ±[{shown}]")

    return check


def subset(valid: tuple) -> Check:
    """Check a non-empty list of distinct items taken from ``valid``.

    An item must be of the kind of the valid ones: text for text, an integer for
    integers (``True`` and ``0.0`` do not stand for 0).
    """

    def check(key: str, value: Any) -> None:
        items = list(value) if isinstance(value, (list, tuple)) else None
        if (
            not items
            or not all(any(_same_kind(v, c) and v == c for c in valid) for v in items)
            or len(set(items)) != len(items)
        ):
            fail(key, value, f"a non-empty list of distinct items from {list(valid)}")

    return check


def flag(key: str, value: Any) -> None:
    """Check a boolean."""
    if not isinstance(value, (bool, np.bool_)):
        fail(key, value, "True or False")


#: Characters a folder name may not hold (on Windows, macOS or Linux).
FORBIDDEN_IN_NAMES = frozenset('/\\:*?"<>|')


def is_folder_name(value: Any, max_bytes: int = 200) -> bool:
    """Whether ``value`` can name a folder on every platform.

    Non-empty text of at most ``max_bytes`` bytes in UTF-8 (a file system allows
    255, and hidden working names add a few), without surrounding spaces, a leading
    dot, control characters or any of ``/ \\ : * ? " < > |``.
    """
    return (
        isinstance(value, str)
        and bool(value.strip())
        and value == value.strip()
        and not value.startswith(".")
        and not FORBIDDEN_IN_NAMES & set(value)
        and not any(ord(c) < 32 or ord(c) == 127 for c in value)
        and len(value.encode("utf-8", "surrogatepass")) <= max_bytes
    )


def folder_name(max_bytes: int = 200) -> Check:
    """Check None or a name that can name a folder (:func:`is_folder_name`)."""

    def check(key: str, value: Any) -> None:
        if value is not None and not is_folder_name(value, max_bytes):
            raise ValueError(
                f"Config key {key!r} is {short_repr(value)}, which cannot name a "
                f"folder: use 1 to {max_bytes} bytes of letters, digits, spaces, '-' "
                "or '_' (no leading dot, surrounding spaces, control characters or any "
                'of / \\ : * ? " < > |), or None.'
            )

    return check


def bounds(key: str, value: Any) -> None:
    """Check a [low, high] pair with low < high, or None."""
    if value is None:
        return
    vector(2)(key, value)
    if not value[0] < value[1]:
        fail(key, value, "[low, high] with low < high, or None")


def layers(largest: int = 4096, most: int = 8) -> Check:
    """Check a list of at most ``most`` positive layer widths of at most ``largest``."""

    def check(key: str, value: Any) -> None:
        if (
            not isinstance(value, (list, tuple))
            or not 0 < len(value) <= most
            or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= largest
                for v in value
            )
        ):
            fail(
                key,
                value,
                f"a list of 1 to {most} integers in [1, {largest}] (layer widths)",
            )

    return check


def unknown_keys_error(
    what: str, unknown: Collection[Any], valid: Collection[str]
) -> ValueError:
    """The error for unknown keys: close matches and the sorted valid keys."""
    hints = [f"{short_repr(key)}{_close(key, valid)}" for key in unknown]
    return ValueError(
        f"Unknown {what}(s) {', '.join(hints)}. Valid keys are: "
        f"{', '.join(sorted(valid))}."
    )


def _close(key: Any, valid: Collection[str]) -> str:
    hint = did_you_mean(key, valid, n=1)
    return f" ({hint.strip().replace('Did', 'did')})" if hint else ""


def settings(schema: Mapping[str, Check]) -> Check:
    """Check None or a dict whose keys come from ``schema`` (each value checked by it)."""

    def check(key: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            fail(key, value, f"None or a dict with keys from {sorted(schema)}")
        unknown = sorted(set(value) - set(schema), key=str)
        if unknown:
            raise unknown_keys_error(f"{key!r} setting", unknown, schema)
        for name, item in value.items():
            schema[name](f"{key}[{name!r}]", item)

    return check
