"""Named registries: one lookup that fails with the valid choices and a suggestion.

Reward modes, action modes, sampling modes, agents and sweep backends are all looked up
by name. :func:`lookup` is the single place that turns a bad name into a helpful error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

__all__ = ["lookup", "unknown_name_error"]

T = TypeVar("T")


def unknown_name_error(name: object, valid: Iterable[str], what: str) -> ValueError:
    """Build the error for an unknown name.

    Parameters
    ----------
    name : object
        The name the user gave.
    valid : iterable of str
        The names that exist.
    what : str
        What is being named, e.g. ``"reward_mode"``.

    Returns
    -------
    ValueError
        Message naming the bad value, the sorted valid choices and close matches.
    """
    choices = sorted(valid)
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(
        f"Unknown {what} {name!r}.{hint} Valid choices are: {', '.join(map(repr, choices))}."
    )


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """Return ``registry[name]`` or raise :func:`unknown_name_error`."""
    if isinstance(name, str) and name in registry:
        return registry[name]
    raise unknown_name_error(name, registry, what)
