"""Named registries: one lookup that fails with the valid choices and a suggestion.

Reward modes, action modes, sampling modes, algorithms, agents and sweep backends are
all looked up by name. :func:`did_you_mean` is the one place that suggests close names;
:func:`lookup` turns a bad name into a helpful error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

__all__ = ["did_you_mean", "lookup", "unknown_name_error"]

T = TypeVar("T")


def did_you_mean(
    name: object, choices: Iterable[str], n: int = 3, cutoff: float = 0.6
) -> str:
    """`` Did you mean 'a' or 'b'?`` for the choices close to ``name``, else ``""``.

    Letter case is ignored when comparing; the suggestions keep their own spelling.
    """
    by_folded = {str(choice).casefold(): str(choice) for choice in choices}
    close = difflib.get_close_matches(
        str(name).casefold()[:200], list(by_folded), n=n, cutoff=cutoff
    )
    if not close:
        return ""
    return f" Did you mean {' or '.join(repr(by_folded[c]) for c in close)}?"


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
    shown = repr(name) if len(repr(name)) <= 200 else repr(name)[:200] + "…"
    return ValueError(
        f"Unknown {what} {shown}.{did_you_mean(name, choices)} Valid choices are: "
        f"{', '.join(map(repr, choices))}."
    )


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """Return ``registry[name]`` or raise :func:`unknown_name_error`."""
    if isinstance(name, str) and name in registry:
        return registry[name]
    raise unknown_name_error(name, registry, what)
