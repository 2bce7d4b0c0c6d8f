"""Plain YAML, read safely and bounded: no Python tags, no aliases, no duplicate keys.

Configs and sweep files are small, hand-written YAML. :func:`load_yaml` reads them with
PyYAML's safe loader and refuses what such files never need but an attacker could use:
aliases (a few hundred bytes of nested aliases expand to gigabytes, the "billion laughs"),
duplicate keys (the last one would silently win), files above :data:`MAX_YAML_BYTES`, and
bytes that are not UTF-8 text. Every error names the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = [
    "load_yaml",
    "dump_yaml",
    "to_plain",
]

#: Largest YAML file read, in bytes.
MAX_YAML_BYTES = 1_000_000


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases and without duplicate mapping keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key; the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> Any:
    """Read one YAML document with :class:`_BoundedLoader`.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming the file: too large, not UTF-8 text, not valid YAML, an alias or a
        duplicate key.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}.")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ValueError(
            f"{path} has {size:,} bytes; YAML files here are at most {MAX_YAML_BYTES:,}."
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text (byte {error.start}); expected a YAML file."
        ) from None
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML here: {error}") from None


def dump_yaml(data: Any, path: str | Path) -> Path:
    """Write plain data as YAML (``yaml.safe_dump``, keys in their order)."""
    path = Path(path)
    path.write_text(yaml.safe_dump(to_plain(data), sort_keys=False), encoding="utf-8")
    return path


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to plain Python for safe YAML/JSON."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
